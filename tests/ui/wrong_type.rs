flags_macros::include_flags!(path = "tests/ui/fixtures/wrong_type.yaml");

fn main() {}
