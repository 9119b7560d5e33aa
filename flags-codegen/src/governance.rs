//! Governance findings: what `flagsync check` reports without breaking a build. Expired
//! flags, flags expiring soon, flags without a backup owner, and flags older than their
//! lifecycle's lifetime. Archived flags are skipped: they are already on their way out.

use crate::date::{Date, days};
use crate::diagnostic::Diagnostic;
use crate::model::{Lifetime, Registry};

/// How many days ahead "expiring soon" looks.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// The governance findings of `registry` on day `today`, in file order.
pub fn findings(registry: &Registry, today: Date) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for flag in registry.flags.iter().filter(|f| !f.archived) {
        let key = &flag.key.value;
        let owners = match &flag.backup_owner {
            Some(b) => format!("{} (backup {})", flag.owner.value, b.value),
            None => flag.owner.value.clone(),
        };
        if let Some(expires) = &flag.expires {
            let left = expires.value.days_after(today);
            if left < 0 {
                out.push(
                    Diagnostic::warning(expires.pos, format!("flag `{key}` expired on {} ({} ago); owner {owners}", expires.value, days(-left)))
                        .with_code("expired")
                        .with_help("remove the flag and its uses, or move `expires` with a reason in the ticket"),
                );
            } else if left <= EXPIRY_WARNING_DAYS {
                out.push(
                    Diagnostic::warning(
                        expires.pos,
                        format!(
                            "flag `{key}` expires on {} (in {}); owner {owners}",
                            expires.value,
                            days(left)
                        ),
                    )
                    .with_code("expiring-soon")
                    .with_help("plan the flag's removal before it expires"),
                );
            }
        }
        if flag.backup_owner.is_none() {
            out.push(
                Diagnostic::warning(flag.key.pos, format!("flag `{key}` has no backup owner"))
                    .with_code("no-backup-owner")
                    .with_help("add `backup_owner: \"@someone\"` so the flag is not orphaned when its owner is away"),
            );
        }
        if let (Some(created), Some(lifecycle)) = (&flag.created, &flag.lifecycle)
            && let Some(Lifetime::Days(days)) = registry.lifetime_of(lifecycle)
        {
            let age = today.days_after(created.value);
            if age > i64::from(days) {
                out.push(
                        Diagnostic::warning(created.pos, format!("flag `{key}` is {age} days old, past the {days}-day lifetime of `{lifecycle}` flags; owner {owners}"))
                            .with_code("past-lifetime")
                            .with_help(format!("remove the flag, or change its lifecycle if it is meant to live longer than {days} days")),
                    );
            }
        }
    }
    out.sort_by_key(|d| d.pos);
    out
}
