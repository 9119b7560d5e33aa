flags_macros::include_flags!(path = "tests/ui/fixtures/variant_sum.yaml");

fn main() {}
