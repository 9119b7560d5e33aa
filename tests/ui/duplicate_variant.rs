flags_macros::include_flags!(path = "tests/ui/fixtures/duplicate_variant.yaml");

fn main() {}
