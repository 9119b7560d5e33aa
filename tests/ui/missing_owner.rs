flags_macros::include_flags!(path = "tests/ui/fixtures/missing_owner.yaml");

fn main() {}
