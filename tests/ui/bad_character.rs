flags_macros::include_flags!(path = "tests/ui/fixtures/bad_character.yaml");

fn main() {}
