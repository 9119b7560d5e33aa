flags_macros::include_flags!(path = "tests/ui/fixtures/unknown_field.yaml");

fn main() {}
