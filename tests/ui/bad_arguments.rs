flags_macros::include_flags!(file = "flags.yaml");

fn main() {}
