flags_macros::include_flags!(path = "tests/ui/fixtures/empty_identifier.yaml");

fn main() {}
