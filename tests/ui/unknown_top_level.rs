flags_macros::include_flags!(path = "tests/ui/fixtures/unknown_top_level.yaml");

fn main() {}
