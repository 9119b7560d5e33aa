flags_macros::include_flags!(path = "tests/ui/fixtures/keyword_variant.yaml");

fn main() {}
