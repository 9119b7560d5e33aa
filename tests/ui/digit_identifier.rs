flags_macros::include_flags!(path = "tests/ui/fixtures/digit_identifier.yaml");

fn main() {}
