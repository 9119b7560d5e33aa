flags_macros::include_flags!(path = "tests/ui/fixtures/unknown_area.yaml");

fn main() {}
