//! The templates `include_flags!()` expands into, one invocation per flag.
//!
//! The macro writes each flag as one compact call of [`__flags_boolean!`](crate::__flags_boolean)
//! or [`__flags_variant!`](crate::__flags_variant) with positional data, and these
//! `macro_rules!` templates write the items: the unit struct and its consts, the trait impls, and the flag's `FlagDefinition` (as the const `__DEFINITION`, which
//! `REGISTRY.flags` lists). Keeping the boilerplate here makes the proc macro's output about six
//! times smaller, which is what a 1,000-flag registry costs at every build.
//!
//! Not a public interface: the argument layout changes with the macro.

/// `None`, or `Some` of the one value given.
#[doc(hidden)]
#[macro_export]
macro_rules! __flags_opt {
    () => {
        ::core::option::Option::None
    };
    ($value:expr) => {
        ::core::option::Option::Some($value)
    };
}

/// A validated `Option<Date>` from `[]` or `[year month day]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __flags_date {
    () => {
        ::core::option::Option::None
    };
    ($y:literal $m:literal $d:literal) => {
        ::core::option::Option::Some($crate::Date::__validated($y, $m, $d))
    };
}

/// The guardian of a flag: `[]`, or `[enabled enforce alpha [(event [success] max_drop) …]]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __flags_guardian {
    () => {
        ::core::option::Option::None
    };
    ($enabled:literal $enforce:literal $alpha:literal [$(($event:literal [$($success:literal)?] $max_drop:literal))*]) => {
        ::core::option::Option::Some($crate::GuardianDefinition {
            enabled: $enabled,
            enforce: $enforce,
            alpha: $alpha,
            metrics: &[$($crate::GuardrailMetric {
                event: $event,
                success_property: $crate::__flags_opt!($($success)?),
                max_drop: $max_drop,
            }),*],
        })
    };
}

/// The items common to both kinds of flag: the struct, its consts and `FlagDef`.
#[doc(hidden)]
#[macro_export]
macro_rules! __flags_common {
    (
        [$(#[$attr:meta])*] [$($deprecated:tt)*] $name:ident $index:literal, $key:literal,
        $description:literal, $owner:literal, [$($backup:literal)?], [$($tag:literal)*], [$($lifecycle:literal)?],
        [$($area:literal)?], $kind:ident, $default:expr, $variants:expr,
        [$(($pkey:literal $pjson:literal))*], [$($created:literal)*], [$($expires:literal)*],
        [$($ticket:literal)?], [$($rollback:literal)?], [$($surface:literal)*],
        [$($guardian:tt)*], $archived:literal, $line:literal, $default_ty:ty, $default_value:expr
    ) => {
        $(#[$attr])*
        $($deprecated)*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        #[allow(deprecated)]
        impl $name {
            /// The flag key in PostHog.
            pub const KEY: &'static str = $key;
            /// What the flag gates.
            pub const DESCRIPTION: &'static str = $description;
            /// Who answers for the flag.
            pub const OWNER: &'static str = $owner;
            /// The day the flag must be gone, if set.
            pub const EXPIRES: ::core::option::Option<$crate::Date> =
                $crate::__flags_date!($($expires)*);
            /// The value the application gets when PostHog cannot answer.
            pub const DEFAULT: $default_ty = $default_value;
            /// This flag in [`Flag`].
            pub const FLAG: Flag = Flag::$name;
            #[doc(hidden)]
            pub const __DEFINITION: $crate::FlagDefinition = $crate::FlagDefinition {
                key: $key,
                rust_name: ::core::stringify!($name),
                description: $description,
                owner: $owner,
                backup_owner: $crate::__flags_opt!($($backup)?),
                tags: &[$($tag),*],
                lifecycle: $crate::__flags_opt!($($lifecycle)?),
                area: $crate::__flags_opt!($($area)?),
                kind: $crate::FlagKind::$kind,
                default: $default,
                variants: $variants,
                payloads: &[$($crate::PayloadDefinition { key: $pkey, json: $pjson }),*],
                created: $crate::__flags_date!($($created)*),
                expires: $crate::__flags_date!($($expires)*),
                ticket: $crate::__flags_opt!($($ticket)?),
                rollback: $crate::__flags_opt!($($rollback)?),
                surfaces: &[$($surface),*],
                guardian: $crate::__flags_guardian!($($guardian)*),
                archived: $archived,
                line: $line,
            };
            /// Everything `flags.yaml` says about the flag.
            pub fn definition() -> &'static $crate::FlagDefinition {
                &REGISTRY.flags[$index]
            }
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl $crate::FlagDef for $name {
            const KEY: &'static str = $key;
            type Value = $default_ty;
            const DEFAULT_VALUE: $default_ty = $default_value;
            fn definition() -> &'static $crate::FlagDefinition {
                &REGISTRY.flags[$index]
            }
        }
    };
}

/// A boolean flag: the common items plus `BooleanFlag`.
///
/// `[docs] [deprecated] Name index, key, description, owner, [backup], [tags], [lifecycle], [area],
/// default, [payloads], [created], [expires], [ticket], [rollback], [surfaces], [guardian],
/// archived, line`.
#[doc(hidden)]
#[macro_export]
macro_rules! __flags_boolean {
    (
        $docs:tt $deprecated:tt $name:ident $index:literal, $key:literal, $description:literal,
        $owner:literal, $backup:tt, $tags:tt, $lifecycle:tt, $area:tt, $default:literal,
        $payloads:tt, $created:tt, $expires:tt, $ticket:tt, $rollback:tt, $surfaces:tt,
        $guardian:tt, $archived:literal, $line:literal
    ) => {
        $crate::__flags_common! {
            $docs $deprecated $name $index, $key, $description, $owner, $backup, $tags, $lifecycle,
            $area, Boolean, $crate::DefaultValue::Bool($default), &[], $payloads, $created,
            $expires, $ticket, $rollback, $surfaces, $guardian, $archived, $line, bool, $default
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl $crate::BooleanFlag for $name {
            const DEFAULT: bool = $default;
        }
    };
}

/// A multivariate flag: the common items, the impls of its variant enum, and `VariantFlag`.
///
/// Like [`__flags_boolean!`](crate::__flags_boolean), with `Enum [(Ident "key" percent) …]` and
/// the default's `Ident` (and its key) in place of the boolean default. The enum itself is
/// written by the proc macro, so the compiler points at `include_flags!()` when a `match` on it
/// misses a variant.
#[doc(hidden)]
#[macro_export]
macro_rules! __flags_variant {
    (
        $docs:tt $deprecated:tt $name:ident $index:literal, $key:literal, $description:literal,
        $owner:literal, $backup:tt, $tags:tt, $lifecycle:tt, $area:tt,
        $venum:ident [$(($vident:ident $vkey:literal $vpercent:literal))*],
        $default:ident $default_key:literal, $payloads:tt, $created:tt, $expires:tt,
        $ticket:tt, $rollback:tt, $surfaces:tt, $guardian:tt, $archived:literal, $line:literal
    ) => {
        $crate::__flags_common! {
            $docs $deprecated $name $index, $key, $description, $owner, $backup, $tags, $lifecycle,
            $area, Multivariate, $crate::DefaultValue::Variant($default_key),
            &[$($crate::VariantDefinition { key: $vkey, rollout_percentage: $vpercent }),*],
            $payloads, $created, $expires, $ticket, $rollback, $surfaces, $guardian, $archived,
            $line, $venum, $venum::$default
        }

        #[allow(deprecated)]
        impl $venum {
            /// Every variant, in yaml order.
            pub const ALL: &'static [Self] = &[$(Self::$vident),*];
            /// The variant key in PostHog.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$vident => $vkey,)* }
            }
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl ::core::str::FromStr for $venum {
            type Err = $crate::UnknownVariant;
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    $($vkey => ::core::result::Result::Ok(Self::$vident),)*
                    other => ::core::result::Result::Err($crate::UnknownVariant {
                        flag: $key,
                        value: ::std::string::String::from(other),
                    }),
                }
            }
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl ::core::fmt::Display for $venum {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl $crate::FlagVariant for $venum {
            const ALL: &'static [Self] = $venum::ALL;
            fn as_str(self) -> &'static str {
                $venum::as_str(self)
            }
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl $crate::VariantFlag for $name {
            type Variant = $venum;
            const DEFAULT: $venum = $venum::$default;
        }
    };
}
