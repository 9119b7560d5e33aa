flags_macros::include_flags!(path = "tests/ui/fixtures/missing_default.yaml");

fn main() {}
