flags_macros::include_flags!(path = "tests/ui/fixtures/empty_segment.yaml");

fn main() {}
