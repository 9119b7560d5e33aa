flags_macros::include_flags!(path = "tests/ui/fixtures/missing_segment.yaml");

fn main() {}
