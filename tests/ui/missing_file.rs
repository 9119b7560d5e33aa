flags_macros::include_flags!(path = "tests/ui/fixtures/does_not_exist.yaml");

fn main() {}
