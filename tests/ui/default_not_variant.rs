flags_macros::include_flags!(path = "tests/ui/fixtures/default_not_variant.yaml");

fn main() {}
