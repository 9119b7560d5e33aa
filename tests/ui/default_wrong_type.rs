flags_macros::include_flags!(path = "tests/ui/fixtures/default_wrong_type.yaml");

fn main() {}
