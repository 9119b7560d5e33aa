flags_macros::include_flags!(path = "/etc/flags.yaml");

fn main() {}
