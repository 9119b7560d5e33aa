flags_macros::include_flags!(path = "tests/ui/fixtures/bad_owner.yaml");

fn main() {}
