//! Feature-flag management calls and the experiment list.

use std::collections::{HashSet, VecDeque};

use futures_util::{Stream, TryStreamExt, stream};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{
    ActivityEntry, ActivityPage, BulkTagsResult, Client, Error, Experiment, FeatureFlag, FlagPatch,
    FlagStatus, ListExperiments, ListFlags, NewFlag, Page, Result, TagAction,
};

const ROUTE_FLAGS: &str = "/api/projects/{project_id}/feature_flags/";
const ROUTE_FLAG: &str = "/api/projects/{project_id}/feature_flags/{id}/";
const ROUTE_STATUS: &str = "/api/projects/{project_id}/feature_flags/{id}/status/";
const ROUTE_ACTIVITY: &str = "/api/projects/{project_id}/feature_flags/{id}/activity/";
const ROUTE_BULK_TAGS: &str = "/api/projects/{project_id}/feature_flags/bulk_update_tags/";
const ROUTE_EXPERIMENTS: &str = "/api/projects/{project_id}/experiments/";

/// State of a scan over `next` links.
struct Scan {
    /// First URLs of the scans still to run (one per filter combination).
    starts: VecDeque<Url>,
    /// The page to fetch next.
    current: Option<Url>,
    /// Every URL fetched so far, to refuse a cursor that repeats.
    seen_urls: HashSet<String>,
    /// Ids yielded so far, so an item that shifts between pages is yielded once.
    seen_ids: HashSet<i64>,
}

impl Scan {
    fn new(starts: Vec<Url>) -> Self {
        Scan {
            starts: starts.into(),
            current: None,
            seen_urls: HashSet::new(),
            seen_ids: HashSet::new(),
        }
    }
}

/// Anything with an id, so scans can de-duplicate.
trait HasId {
    fn id(&self) -> i64;
}
impl HasId for FeatureFlag {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for Experiment {
    fn id(&self) -> i64 {
        self.id
    }
}

impl Client {
    fn with_query(&self, mut url: Url, pairs: &[(&str, String)]) -> Url {
        if !pairs.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// A stream over every page of a limit/offset list: follows `next`, refuses a repeated
    /// cursor, yields each id once, and ends after the first error.
    fn scan<T>(
        &self,
        route: &'static str,
        starts: Result<Vec<Url>>,
    ) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        T: DeserializeOwned + HasId + Send + 'static,
    {
        let client = self.clone();
        let init = starts.map(Scan::new);
        stream::once(async move { init })
            .map_ok(move |scan| {
                let client = client.clone();
                stream::try_unfold(scan, move |mut scan| {
                    let client = client.clone();
                    async move {
                        let url = match scan.current.take().or_else(|| scan.starts.pop_front()) {
                            Some(u) => u,
                            None => return Ok(None),
                        };
                        if !scan.seen_urls.insert(url.as_str().to_owned()) {
                            return Err(Error::Protocol {
                                route,
                                message: "pagination cursor repeated; stopping to avoid a loop"
                                    .into(),
                            });
                        }
                        let page: Page<T> =
                            client.fetch(&client.call(Method::GET, route, url)).await?;
                        if let Some(next) = page.next.as_deref() {
                            scan.current = Some(client.same_origin(route, next)?);
                        }
                        let fresh: Vec<T> = page
                            .results
                            .into_iter()
                            .filter(|item| scan.seen_ids.insert(item.id()))
                            .collect();
                        Ok(Some((fresh, scan)))
                    }
                })
                .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
                .try_flatten()
            })
            .try_flatten()
    }

    /// Every flag matching `filter`, over every page. Archived flags are hidden unless
    /// `filter.archived` or `filter.include_archived` asks for them, as in PostHog.
    pub fn list_flags(
        &self,
        filter: &ListFlags,
    ) -> impl Stream<Item = Result<FeatureFlag>> + Send + 'static {
        let starts = (|| {
            let mut pairs = filter.query_pairs();
            pairs.push(("limit", self.inner.config.page_size.to_string()));
            let base = self.with_query(self.project_url("feature_flags/")?, &pairs);
            let mut starts = vec![base];
            if filter.include_archived && filter.archived.is_none() {
                let mut pairs = pairs.clone();
                pairs.push(("archived", "true".into()));
                starts.push(self.with_query(self.project_url("feature_flags/")?, &pairs));
            }
            Ok(starts)
        })();
        self.scan(ROUTE_FLAGS, starts)
    }

    /// One flag by id. Soft-deleted flags are returned too (with `deleted: true`).
    pub async fn get_flag(&self, id: i64) -> Result<FeatureFlag> {
        let url = self.project_url(&format!("feature_flags/{id}/"))?;
        self.fetch(&self.call(Method::GET, ROUTE_FLAG, url)).await
    }

    /// The non-deleted flag with this key (archived included), if any.
    pub async fn find_flag(&self, key: &str) -> Result<Option<FeatureFlag>> {
        let filter = ListFlags {
            key: Some(key.to_owned()),
            include_archived: true,
            ..ListFlags::default()
        };
        let flags: Vec<FeatureFlag> = self.list_flags(&filter).try_collect().await?;
        Ok(flags.into_iter().find(|f| f.key.eq_ignore_ascii_case(key)))
    }

    /// Creates a flag. A failed attempt is retried only after looking the key up, so a create
    /// that reached PostHog before its answer was lost is never made twice.
    pub async fn create_flag(&self, flag: &NewFlag) -> Result<FeatureFlag> {
        let url = self.project_url("feature_flags/")?;
        let mut call = self.call(Method::POST, ROUTE_FLAGS, url);
        Self::json_body(&mut call, flag)?;
        match self
            .execute_checked(&call, || self.find_flag(&flag.key))
            .await?
        {
            Ok(raw) => Self::decode(ROUTE_FLAGS, &raw.body),
            Err(existing) => {
                tracing::info!(key = %flag.key, id = existing.id, "create had already succeeded");
                Ok(existing)
            }
        }
    }

    /// A partial update (`PATCH`): only the fields set in `patch` change.
    pub async fn update_flag(&self, id: i64, patch: &FlagPatch) -> Result<FeatureFlag> {
        let url = self.project_url(&format!("feature_flags/{id}/"))?;
        let mut call = self.call(Method::PATCH, ROUTE_FLAG, url);
        Self::json_body(&mut call, patch)?;
        self.fetch(&call).await
    }

    /// `bulk_update_tags`: with [`TagAction::Add`] an atomic, additive tag change that PostHog
    /// records in each flag's activity.
    pub async fn bulk_update_tags(
        &self,
        ids: &[i64],
        action: TagAction,
        tags: &[String],
    ) -> Result<BulkTagsResult> {
        let url = self.project_url("feature_flags/bulk_update_tags/")?;
        let mut call = self.call(Method::POST, ROUTE_BULK_TAGS, url);
        Self::json_body(
            &mut call,
            &json!({ "ids": ids, "action": action, "tags": tags }),
        )?;
        self.fetch(&call).await
    }

    /// A flag's status, with PostHog's own `effectively_full_rollout`.
    pub async fn flag_status(&self, id: i64) -> Result<FlagStatus> {
        let url = self.project_url(&format!("feature_flags/{id}/status/"))?;
        self.fetch(&self.call(Method::GET, ROUTE_STATUS, url)).await
    }

    /// A flag's activity log, newest first, over every page (page-based paging; needs the
    /// `activity_log:read` scope).
    pub fn flag_activity(
        &self,
        id: i64,
    ) -> impl Stream<Item = Result<ActivityEntry>> + Send + 'static {
        let client = self.clone();
        let start = self
            .project_url(&format!("feature_flags/{id}/activity/"))
            .map(|u| {
                self.with_query(
                    u,
                    &[
                        ("limit", self.inner.config.page_size.to_string()),
                        ("page", "1".into()),
                    ],
                )
            });
        let state = start.map(|u| (Some(u), HashSet::<String>::new()));
        stream::once(async move { state })
            .map_ok(move |state| {
                let client = client.clone();
                stream::try_unfold(state, move |(url, mut seen)| {
                    let client = client.clone();
                    async move {
                        let Some(url) = url else { return Ok(None) };
                        if !seen.insert(url.as_str().to_owned()) {
                            return Err(Error::Protocol {
                                route: ROUTE_ACTIVITY,
                                message: "pagination cursor repeated; stopping to avoid a loop"
                                    .into(),
                            });
                        }
                        let page: ActivityPage = client
                            .fetch(&client.call(Method::GET, ROUTE_ACTIVITY, url))
                            .await?;
                        let next = match page.next.as_deref() {
                            Some(n) => Some(client.same_origin(ROUTE_ACTIVITY, n)?),
                            None => None,
                        };
                        Ok(Some((page.results, (next, seen))))
                    }
                })
                .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
                .try_flatten()
            })
            .try_flatten()
    }

    /// Experiments over every page; archived ones hidden unless asked for.
    pub fn list_experiments(
        &self,
        filter: &ListExperiments,
    ) -> impl Stream<Item = Result<Experiment>> + Send + 'static {
        let mut pairs = vec![("limit", self.inner.config.page_size.to_string())];
        if let Some(a) = filter.archived {
            pairs.push(("archived", a.to_string()));
        }
        if let Some(s) = &filter.status {
            pairs.push(("status", s.clone()));
        }
        let starts = self
            .project_url("experiments/")
            .map(|u| vec![self.with_query(u, &pairs)]);
        self.scan(ROUTE_EXPERIMENTS, starts)
    }
}
