flags_macros::include_flags!(path = "tests/ui/fixtures/custom_pattern.yaml");

fn main() {}
