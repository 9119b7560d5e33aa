flags_macros::include_flags!(path = "tests/ui/fixtures/unknown_lifecycle.yaml");

fn main() {}
