//! Migrations over an analysed history: progress `to / (from + to)` at every commit, when it
//! crossed 50% and 90%, a projected completion date, the commits and authors that moved it, and
//! the files still holding `from` sites. Everything is read from the database; the method of
//! each figure is stated in docs/trackers.md.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::store::{CommitMeta, Counted, SeriesPoint, Store, TagRow, TrackerSource};
use crate::trackers::{self, TrackerMatcher, TrackerSet};

/// Status looks this far back from the revision: no change in `from` sites over it is
/// "stalled", more of them "backsliding".
const STATUS_WINDOW_DAYS: i64 = 180;
/// The projection fits the progress of this many days before the revision.
const TREND_WINDOW_DAYS: i64 = 365;
/// A projection further out than this is reported as unknown.
const HORIZON_DAYS: f64 = 100.0 * 365.25;
const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub occurrences: i64,
    pub files: i64,
}

/// A commit, as output names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stamp {
    pub commit: String,
    pub seq: i64,
    /// Committer date, `YYYY-MM-DD` (UTC).
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Projection {
    /// No `from` sites are left.
    Done,
    /// The trend says nothing (flat, backwards, too short, or past the horizon).
    Unknown { reason: String },
    /// Where the fitted line reaches 100%, with a band from the slope's uncertainty.
    Date {
        date: String,
        earliest: String,
        /// None when the slope's lower bound is not positive: no latest date follows.
        latest: Option<String>,
        method: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Neither side has a site: never had, or all were deleted.
    Absent,
    /// `to` sites, and never a `from` site in the analysed range: nothing to migrate.
    OnlyTo,
    /// `from` sites but no `to` sites.
    NotStarted,
    /// `from` sites fell over the status window.
    Moving,
    /// `from` sites did not change over the status window.
    Stalled,
    /// `from` sites grew over the status window.
    Backsliding,
    /// No `from` sites left, some `to` sites.
    Done,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Absent => "absent",
            Status::OnlyTo => "only to",
            Status::NotStarted => "not started",
            Status::Moving => "moving",
            Status::Stalled => "stalled",
            Status::Backsliding => "backsliding",
            Status::Done => "done",
        }
    }
}

/// How both sides changed between the first analysed commit and the revision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RangeChange {
    pub from: i64,
    pub to: i64,
    /// Progress (by sites) at the revision less progress at the first commit, where both exist.
    pub progress: Option<f64>,
}

/// One migration at one revision: the row of `patmine migrations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationSummary {
    pub name: String,
    pub description: String,
    pub from: Counts,
    pub to: Counts,
    /// `to / (from + to)` by sites; None when both are zero.
    pub progress: Option<f64>,
    /// The same by files.
    pub progress_files: Option<f64>,
    /// Since the first analysed commit (its own content is the baseline).
    pub change: RangeChange,
    /// The latest commit at which progress rose to 50% (90%) and stayed there up to the
    /// revision; None when it is below now.
    pub crossed_50: Option<Stamp>,
    pub crossed_90: Option<Stamp>,
    pub projection: Projection,
    pub status: Status,
}

/// One point of a migration's series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationPoint {
    pub seq: i64,
    pub commit: String,
    pub date: String,
    pub from: Counts,
    pub to: Counts,
    pub progress: Option<f64>,
}

/// What one commit (or one author, summed) did to a migration, from its changed files: in a
/// file where `from` fell and `to` rose, the smaller of the two moves is `converted`; the rest
/// of a fall is `removed`, the rest of a rise `written_new`; a rise of `from` is `backslid`, a
/// fall of `to` `retired`. So `Δfrom = backslid - converted - removed` and
/// `Δto = converted + written_new - retired`, exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Effect {
    pub converted: i64,
    pub removed: i64,
    pub written_new: i64,
    pub backslid: i64,
    pub retired: i64,
}

impl Effect {
    fn add(&mut self, other: &Effect) {
        self.converted += other.converted;
        self.removed += other.removed;
        self.written_new += other.written_new;
        self.backslid += other.backslid;
        self.retired += other.retired;
    }

    /// What commits and authors are ranked by: `from` sites moved either way first (that is
    /// the migration), then `to` sites written or retired (often code moved between files).
    pub fn rank_key(&self) -> (i64, i64) {
        (
            self.converted + self.removed + self.backslid,
            self.written_new + self.retired,
        )
    }

    pub fn d_from(&self) -> i64 {
        self.backslid - self.converted - self.removed
    }

    pub fn d_to(&self) -> i64 {
        self.converted + self.written_new - self.retired
    }

    fn of_file(d_from: i64, d_to: i64) -> Effect {
        let converted = if d_from < 0 && d_to > 0 {
            (-d_from).min(d_to)
        } else {
            0
        };
        Effect {
            converted,
            removed: (-d_from).max(0) - converted,
            written_new: d_to.max(0) - converted,
            backslid: d_from.max(0),
            retired: (-d_to).max(0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitEffect {
    pub commit: String,
    pub seq: i64,
    pub date: String,
    pub author: String,
    pub subject: String,
    #[serde(flatten)]
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorEffect {
    pub author: String,
    pub commits: usize,
    #[serde(flatten)]
    pub effect: Effect,
}

/// A file still holding `from` sites at the revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrontierFile {
    pub path: String,
    pub occurrences: i64,
    /// The last commit at or before the revision that changed the file.
    pub last_commit: Stamp,
    pub last_author: String,
}

/// A release (tag) and the migration's counts there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleasePoint {
    pub tag: String,
    #[serde(flatten)]
    pub point: MigrationPoint,
}

/// Everything `patmine migrations NAME` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationDetail {
    #[serde(flatten)]
    pub summary: MigrationSummary,
    /// The points where either side changed, oldest first.
    pub series: Vec<MigrationPoint>,
    pub releases: Vec<ReleasePoint>,
    /// Every commit that changed either side, most `from` sites moved first.
    pub commits: Vec<CommitEffect>,
    pub authors: Vec<AuthorEffect>,
    pub frontier: Vec<FrontierFile>,
}

/// A tracker's counts at one revision (`patmine at --json`'s `trackers`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackerCount {
    pub name: String,
    pub occurrences: i64,
    pub files: i64,
}

/// The analysed history a migration is read from.
pub struct History<'a> {
    pub store: &'a Store,
    pub repo_id: i64,
    /// The configuration fingerprint (for signature trackers).
    pub config: &'a str,
    pub commits: Vec<CommitMeta>,
    pub tags: Vec<TagRow>,
    /// The latest committer time up to each commit: committer clocks can go backwards, and
    /// "the last commit at or before a time" needs a sorted sequence to search.
    clock: Vec<i64>,
}

/// A tree tracker that has not been evaluated on every parsed blob of the history: counting it
/// would undercount, so callers refuse and say how to fix it.
#[derive(Debug, thiserror::Error)]
#[error(
    "tracker `{name}` has not been evaluated on {blobs} blobs of this history: run `patmine history` on the repository again (it reads only those blobs)"
)]
pub struct NotEvaluated {
    pub name: String,
    pub blobs: usize,
}

impl<'a> History<'a> {
    pub fn load(store: &'a Store, repo_id: i64, config: &'a str) -> Result<History<'a>> {
        let commits = store.commits(repo_id)?;
        let clock = commits
            .iter()
            .scan(i64::MIN, |latest, c| {
                *latest = (*latest).max(c.time);
                Some(*latest)
            })
            .collect();
        Ok(History {
            store,
            repo_id,
            config,
            commits,
            tags: store.tags(repo_id)?,
            clock,
        })
    }

    /// How many of the first `len` commits were made at or before `time` (by `clock`).
    fn commits_through(&self, len: usize, time: i64) -> usize {
        self.clock[..len].partition_point(|&t| t <= time)
    }

    /// Where each tracker's per-blob counts come from; an error for a tree tracker some blobs
    /// lack.
    fn sources(&self, set: &TrackerSet, wanted: &[usize]) -> Result<Vec<TrackerSource>> {
        let keys: Vec<String> = wanted
            .iter()
            .filter_map(|&i| match &set.trackers[i].matcher {
                TrackerMatcher::Tree(t) => Some(t.key.clone()),
                TrackerMatcher::Signature(_) => None,
            })
            .collect();
        let gaps = self.store.tracker_gaps(self.repo_id, &keys)?;
        let mut texts: Option<Vec<(i32, String)>> = None;
        let mut out = Vec::with_capacity(wanted.len());
        let mut gap = gaps.iter();
        for &i in wanted {
            let tracker = &set.trackers[i];
            out.push(match &tracker.matcher {
                TrackerMatcher::Tree(t) => {
                    let blobs = *gap.next().expect("one gap per tree tracker");
                    if blobs > 0 {
                        return Err(NotEvaluated {
                            name: tracker.name.clone(),
                            blobs,
                        }
                        .into());
                    }
                    TrackerSource::Tree(t.key.clone())
                }
                TrackerMatcher::Signature(s) => {
                    if texts.is_none() {
                        texts = Some(self.store.signature_texts(self.config)?);
                    }
                    let all = texts.as_ref().expect("read above");
                    TrackerSource::Signatures {
                        level: s.level,
                        sigs: trackers::select_signatures(s, all),
                        kind: s.kind.clone(),
                    }
                }
            });
        }
        Ok(out)
    }

    fn stamp(&self, seq: i64) -> Stamp {
        let commit = &self.commits[seq as usize];
        Stamp {
            commit: commit.id.clone(),
            seq,
            date: date(commit.time),
        }
    }

    /// Every tracker's counts at commit `seq`, leaving out (and returning) the tree trackers
    /// some blobs of the history lack.
    pub fn tracker_counts(
        &self,
        set: &TrackerSet,
        seq: i64,
    ) -> Result<(Vec<TrackerCount>, Vec<NotEvaluated>)> {
        self.tracker_counts_by(set, |counted| {
            let series = self.store.counted_series(self.repo_id, counted)?;
            Ok(series
                .iter()
                .map(|points| {
                    let c = value_at(points, seq);
                    (c.occurrences, c.files)
                })
                .collect())
        })
    }

    /// Every tracker's counts in the tree of a revision off the chain (the scan `scan_id`),
    /// leaving out (and returning) the tree trackers some blobs of the history lack.
    pub fn tracker_counts_in_tree(
        &self,
        set: &TrackerSet,
        scan_id: i64,
    ) -> Result<(Vec<TrackerCount>, Vec<NotEvaluated>)> {
        self.tracker_counts_by(set, |counted| self.store.counted_in_scan(scan_id, counted))
    }

    /// The trackers every blob was evaluated for, with `(occurrences, files)` from `totals` of
    /// their counted series, and the tree trackers some blobs lack.
    fn tracker_counts_by(
        &self,
        set: &TrackerSet,
        totals: impl FnOnce(&[Counted]) -> Result<Vec<(i64, i64)>>,
    ) -> Result<(Vec<TrackerCount>, Vec<NotEvaluated>)> {
        let (usable, counted, skipped) = self.evaluated_trackers(set)?;
        let counts = usable
            .iter()
            .zip(totals(&counted)?)
            .map(|(&i, (occurrences, files))| TrackerCount {
                name: set.trackers[i].name.clone(),
                occurrences,
                files,
            })
            .collect();
        Ok((counts, skipped))
    }

    /// The trackers of `set` every blob was evaluated for (their indexes and counted series),
    /// and the tree trackers some blobs lack.
    fn evaluated_trackers(
        &self,
        set: &TrackerSet,
    ) -> Result<(Vec<usize>, Vec<Counted>, Vec<NotEvaluated>)> {
        let keys: Vec<(usize, String)> = set
            .tree_trackers()
            .map(|(i, t)| (i, t.key.clone()))
            .collect();
        let key_list: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
        let gaps = self.store.tracker_gaps(self.repo_id, &key_list)?;
        let mut skipped = Vec::new();
        let mut usable: Vec<usize> = (0..set.trackers.len()).collect();
        for ((i, _), blobs) in keys.iter().zip(gaps) {
            if blobs > 0 {
                usable.retain(|u| u != i);
                skipped.push(NotEvaluated {
                    name: set.trackers[*i].name.clone(),
                    blobs,
                });
            }
        }
        let sources = self.sources(set, &usable)?;
        let counted: Vec<Counted> = sources.into_iter().map(|s| vec![s]).collect();
        Ok((usable, counted, skipped))
    }

    /// Each migration's two sides as counted series: `[from, to]` per migration, in order.
    fn migration_counted(&self, set: &TrackerSet, names: &[usize]) -> Result<Vec<Counted>> {
        let mut wanted: Vec<usize> = Vec::new();
        for &m in names {
            let migration = &set.migrations[m];
            wanted.extend(&migration.from);
            wanted.extend(&migration.to);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let sources = self.sources(set, &wanted)?;
        let source_of: HashMap<usize, TrackerSource> = wanted.into_iter().zip(sources).collect();
        let mut counted = Vec::new();
        for &m in names {
            let migration = &set.migrations[m];
            for side in [&migration.from, &migration.to] {
                counted.push(side.iter().map(|i| source_of[i].clone()).collect());
            }
        }
        Ok(counted)
    }

    /// The table of every migration of `set` at commit `at`.
    pub fn summaries(&self, set: &TrackerSet, at: i64) -> Result<Vec<MigrationSummary>> {
        let all: Vec<usize> = (0..set.migrations.len()).collect();
        let counted = self.migration_counted(set, &all)?;
        let series = self.store.counted_series(self.repo_id, &counted)?;
        Ok(all
            .iter()
            .map(|&m| {
                let dense = self.dense(&series[2 * m], &series[2 * m + 1], at);
                self.summary(&set.migrations[m], &dense, at)
            })
            .collect())
    }

    /// One migration in full at commit `at`.
    pub fn detail(&self, set: &TrackerSet, name: &str, at: i64) -> Result<MigrationDetail> {
        let m = set
            .migrations
            .iter()
            .position(|m| m.name == name)
            .with_context(|| format!("no migration named `{name}`"))?;
        let counted = self.migration_counted(set, &[m])?;
        let series = self.store.counted_series(self.repo_id, &counted)?;
        let dense = self.dense(&series[0], &series[1], at);
        let summary = self.summary(&set.migrations[m], &dense, at);

        let mut points = Vec::new();
        for (seq, pair) in dense.iter().enumerate() {
            if seq == 0 || dense[seq - 1] != *pair {
                points.push(self.point(seq as i64, *pair));
            }
        }
        let releases = self
            .tags
            .iter()
            .filter(|t| t.seq <= at)
            .map(|t| ReleasePoint {
                tag: t.name.clone(),
                point: self.point(t.seq, dense[t.seq as usize]),
            })
            .collect();

        // Attribution, file by file. The first analysed commit is the baseline, not a change.
        // Files a commit adds or deletes count as one file per commit, so a rename or a move
        // between files is not a removal and a rewrite.
        let changes = self.store.counted_path_changes(self.repo_id, &counted)?;
        let mut per_file: BTreeMap<(i64, &str), (i64, i64)> = BTreeMap::new();
        for c in changes.iter().filter(|c| c.seq > 0 && c.seq <= at) {
            let file = if c.added || c.deleted {
                ""
            } else {
                c.path.as_str()
            };
            let entry = per_file.entry((c.seq, file)).or_default();
            if c.counted == 0 {
                entry.0 += c.after - c.before;
            } else {
                entry.1 += c.after - c.before;
            }
        }
        let mut per_commit: BTreeMap<i64, Effect> = BTreeMap::new();
        for (&(seq, _), &(d_from, d_to)) in &per_file {
            per_commit
                .entry(seq)
                .or_default()
                .add(&Effect::of_file(d_from, d_to));
        }
        let mut authors: BTreeMap<&str, AuthorEffect> = BTreeMap::new();
        let mut commits: Vec<CommitEffect> = Vec::with_capacity(per_commit.len());
        for (seq, effect) in per_commit {
            let meta = &self.commits[seq as usize];
            let author = authors.entry(&meta.author).or_insert_with(|| AuthorEffect {
                author: meta.author.clone(),
                commits: 0,
                effect: Effect::default(),
            });
            author.commits += 1;
            author.effect.add(&effect);
            commits.push(CommitEffect {
                commit: meta.id.clone(),
                seq,
                date: date(meta.time),
                author: meta.author.clone(),
                subject: meta.subject.clone(),
                effect,
            });
        }
        commits.sort_by(|a, b| {
            b.effect
                .rank_key()
                .cmp(&a.effect.rank_key())
                .then(a.seq.cmp(&b.seq))
        });
        let mut authors: Vec<AuthorEffect> = authors.into_values().collect();
        authors.sort_by(|a, b| {
            b.effect
                .rank_key()
                .cmp(&a.effect.rank_key())
                .then_with(|| a.author.cmp(&b.author))
        });

        let frontier = self
            .store
            .counted_paths_at(self.repo_id, at, &counted[..1])?
            .into_iter()
            .map(|p| FrontierFile {
                path: p.path,
                occurrences: p.occurrences,
                last_commit: self.stamp(p.last_seq),
                last_author: self.commits[p.last_seq as usize].author.clone(),
            })
            .collect();
        Ok(MigrationDetail {
            summary,
            series: points,
            releases,
            commits,
            authors,
            frontier,
        })
    }

    fn point(&self, seq: i64, (from, to): (Counts, Counts)) -> MigrationPoint {
        let commit = &self.commits[seq as usize];
        MigrationPoint {
            seq,
            commit: commit.id.clone(),
            date: date(commit.time),
            from,
            to,
            progress: progress(from.occurrences, to.occurrences),
        }
    }

    /// Both sides at every commit `0..=at`.
    fn dense(&self, from: &[SeriesPoint], to: &[SeriesPoint], at: i64) -> Vec<(Counts, Counts)> {
        let n = (at + 1).max(0) as usize;
        let fill = |points: &[SeriesPoint]| {
            let mut out = vec![Counts::default(); n];
            let mut current = Counts::default();
            let mut next = points.iter().peekable();
            for (seq, slot) in out.iter_mut().enumerate() {
                while let Some(p) = next.next_if(|p| p.seq <= seq as i64) {
                    current = Counts {
                        occurrences: p.occurrences,
                        files: p.files,
                    };
                }
                *slot = current;
            }
            out
        };
        fill(from).into_iter().zip(fill(to)).collect()
    }

    fn summary(
        &self,
        migration: &trackers::Migration,
        dense: &[(Counts, Counts)],
        at: i64,
    ) -> MigrationSummary {
        let (from, to) = dense.last().copied().unwrap_or_default();
        let (first_from, first_to) = dense.first().copied().unwrap_or_default();
        let now = progress(from.occurrences, to.occurrences);
        let crossed = |threshold: f64| -> Option<Stamp> {
            let reached = |p: Option<f64>| p.is_some_and(|p| p >= threshold);
            if !reached(now) {
                return None;
            }
            let below = dense
                .iter()
                .rposition(|(f, t)| !reached(progress(f.occurrences, t.occurrences)));
            let seq = below.map_or(0, |i| i + 1);
            Some(self.stamp(seq as i64))
        };
        let at_time = self.commits.get(at as usize).map_or(0, |c| c.time);
        let from_at = |time: i64| -> i64 {
            // `from` sites at the last commit at or before `time`; a time before the history
            // reads its first commit (a young history is not "backsliding" from nothing).
            let idx = self.commits_through(dense.len(), time);
            dense[idx.saturating_sub(1)].0.occurrences
        };
        let ever = dense
            .iter()
            .any(|(f, t)| f.occurrences > 0 || t.occurrences > 0);
        let window_from = from_at(at_time - STATUS_WINDOW_DAYS * DAY);
        let ever_from = dense.iter().any(|(f, _)| f.occurrences > 0);
        let status = if !ever || (from.occurrences == 0 && to.occurrences == 0) {
            Status::Absent
        } else if !ever_from {
            Status::OnlyTo
        } else if from.occurrences == 0 {
            Status::Done
        } else if to.occurrences == 0 {
            Status::NotStarted
        } else if from.occurrences > window_from {
            Status::Backsliding
        } else if from.occurrences == window_from {
            Status::Stalled
        } else {
            Status::Moving
        };
        let projection = if from.occurrences == 0 && to.occurrences > 0 {
            Projection::Done
        } else if from.occurrences == 0 {
            Projection::Unknown {
                reason: "no sites on either side".to_string(),
            }
        } else {
            self.project(dense, at_time)
        };
        MigrationSummary {
            name: migration.name.clone(),
            description: migration.description.clone(),
            from,
            to,
            progress: now,
            progress_files: progress(from.files, to.files),
            change: RangeChange {
                from: from.occurrences - first_from.occurrences,
                to: to.occurrences - first_to.occurrences,
                progress: match (now, progress(first_from.occurrences, first_to.occurrences)) {
                    (Some(a), Some(b)) => Some(a - b),
                    _ => None,
                },
            },
            crossed_50: crossed(0.5),
            crossed_90: crossed(0.9),
            projection,
            status,
        }
    }

    /// When no `from` site will be left: a least-squares line through the `from` sites at the
    /// end of each day of the trend window, extended to zero. (Progress as a ratio would creep
    /// towards 100% whenever the code grows, with not one `from` site removed.)
    fn project(&self, dense: &[(Counts, Counts)], at_time: i64) -> Projection {
        let unknown = |reason: &str| Projection::Unknown {
            reason: reason.to_string(),
        };
        let commits = &self.commits[..dense.len()];
        let Some(first) = commits.first() else {
            return unknown("no commits");
        };
        let start = (at_time - TREND_WINDOW_DAYS * DAY).max(first.time);
        let days = (at_time - start) / DAY;
        if days < 30 {
            return unknown("less than 30 days of history");
        }
        let samples: Vec<(f64, f64)> = (0..=days)
            .map(|d| {
                let idx = self.commits_through(dense.len(), start + d * DAY);
                let from = if idx == 0 {
                    0
                } else {
                    dense[idx - 1].0.occurrences
                };
                (d as f64, from as f64)
            })
            .collect();
        let n = samples.len() as f64;
        let mean_x = samples.iter().map(|s| s.0).sum::<f64>() / n;
        let mean_y = samples.iter().map(|s| s.1).sum::<f64>() / n;
        let sxx: f64 = samples.iter().map(|s| (s.0 - mean_x).powi(2)).sum();
        let sxy: f64 = samples
            .iter()
            .map(|s| (s.0 - mean_x) * (s.1 - mean_y))
            .sum();
        // Sites removed per day.
        let rate = -sxy / sxx;
        let intercept = mean_y + rate * mean_x;
        let residual: f64 = samples
            .iter()
            .map(|s| (s.1 - intercept + rate * s.0).powi(2))
            .sum();
        let se = (residual / (n - 2.0) / sxx).sqrt();
        if rate <= 0.0 || !rate.is_finite() {
            return unknown("no `from` sites were removed over the last 365 days, on balance");
        }
        let fitted_now = (intercept - rate * days as f64).max(0.0);
        let at_days = |rate: f64| fitted_now / rate;
        let central = at_days(rate);
        if central > HORIZON_DAYS {
            return unknown("at the recent rate, more than 100 years");
        }
        let when = |d: f64| date(at_time + (d * DAY as f64) as i64);
        let (fast, slow) = (rate + 1.96 * se, rate - 1.96 * se);
        Projection::Date {
            date: when(central),
            earliest: when(at_days(fast)),
            latest: (slow > 0.0 && at_days(slow) <= HORIZON_DAYS).then(|| when(at_days(slow))),
            method: "least squares over the daily count of `from` sites in the 365 days before the revision, extended to zero; band: rate ± 1.96 standard errors".to_string(),
        }
    }
}

/// The counts at commit `seq` of a sparse series.
fn value_at(points: &[SeriesPoint], seq: i64) -> Counts {
    let idx = points.partition_point(|p| p.seq <= seq);
    if idx == 0 {
        Counts::default()
    } else {
        Counts {
            occurrences: points[idx - 1].occurrences,
            files: points[idx - 1].files,
        }
    }
}

fn progress(from: i64, to: i64) -> Option<f64> {
    (from + to > 0).then(|| to as f64 / (from + to) as f64)
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn date(time: i64) -> String {
    chrono::DateTime::from_timestamp(time, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_effect_adds_up_to_its_changes() {
        for d_from in -5..=5 {
            for d_to in -5..=5 {
                let e = Effect::of_file(d_from, d_to);
                assert_eq!(e.d_from(), d_from, "{d_from} {d_to}: {e:?}");
                assert_eq!(e.d_to(), d_to, "{d_from} {d_to}: {e:?}");
                assert!(e.converted >= 0 && e.removed >= 0 && e.written_new >= 0);
            }
        }
        assert_eq!(
            Effect::of_file(-3, 2),
            Effect {
                converted: 2,
                removed: 1,
                ..Effect::default()
            }
        );
    }

    #[test]
    fn value_at_carries_the_last_point_forward() {
        let points = [
            SeriesPoint {
                seq: 2,
                occurrences: 5,
                files: 1,
            },
            SeriesPoint {
                seq: 7,
                occurrences: 3,
                files: 1,
            },
        ];
        assert_eq!(value_at(&points, 1).occurrences, 0);
        assert_eq!(value_at(&points, 2).occurrences, 5);
        assert_eq!(value_at(&points, 6).occurrences, 5);
        assert_eq!(value_at(&points, 9).occurrences, 3);
    }
}
