//! `patmine report`: what users look at. Reads the database that `scan` and `history` wrote
//! (nothing here parses code) and writes `report.json`, `report.md`, a self-contained
//! `index.html` dashboard and every chart as an SVG file.

pub mod charts;
pub mod cluster;
pub mod compare;
pub mod cooccur;
pub mod html;
pub mod migrations;
pub mod range;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::analyze::METRIC_KINDS;
use crate::phrasebook::{self, Level, PatternRow, md_code, md_text};
use crate::releases::Release;
use crate::store::{BlobStatus, CommitMeta, RepoRow, ScanRow, Snapshot, Store};
use crate::trackers::TrackerSet;
use charts::Series;
use cluster::{Cluster, Weighted};
use compare::Delta;

#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Patterns on the dashboard and in the tables.
    pub top: usize,
    /// Similarity (0..=100) above which two signatures join a cluster.
    pub threshold: f64,
    /// The clustering pool is this many times `top`.
    pub pool_factor: usize,
    /// Files a pattern (and a pair) must appear in to take part in co-occurrence; None: 1% of
    /// the snapshot's files, and at least 5 (`cooccur::default_min_support`).
    pub min_support: Option<usize>,
    /// At most this many patterns take part in co-occurrence.
    pub max_cooccurring: usize,
    /// Which repository, when the database holds several (by repo_id); None: the only one.
    pub repo_id: Option<i64>,
    /// Report on this scan rather than on a history.
    pub scan_id: Option<i64>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            top: 50,
            threshold: 85.0,
            pool_factor: 4,
            min_support: None,
            max_cooccurring: 200,
            repo_id: None,
            scan_id: None,
        }
    }
}

/// A pattern on the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct PatternCard {
    #[serde(flatten)]
    pub row: PatternRow,
    /// Near-identical signatures clustered under this one, with their counts.
    pub variations: Vec<Weighted>,
    /// (unix time, occurrences) where the count changed; empty without history.
    pub series: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evolution {
    pub commits: usize,
    pub first: CommitMeta,
    pub last: CommitMeta,
    /// (tag, unix time).
    pub releases: Vec<(String, i64)>,
    /// (unix time, files, lines, distinct patterns, occurrences) at every commit.
    pub totals: Vec<(i64, i64, i64, i64, i64)>,
    /// Node kind -> its count at every commit.
    pub metrics: BTreeMap<String, Vec<(i64, i64)>>,
    pub rose: Vec<Delta>,
    pub fell: Vec<Delta>,
    /// The patterns that fell the most from their peak to the newest commit (an idiom that
    /// came and went is invisible to first-against-newest).
    pub fell_from_peak: Vec<PeakFall>,
    /// The commits that moved each listed pattern the most (rose, fell, fell from its peak,
    /// and the pattern cards), by signature.
    pub moved_by: BTreeMap<String, Vec<CommitMove>>,
    /// What rose and fell the most over the last year, when the history is older.
    pub last_year: Option<Window>,
    /// Running occurrences of the three that rose and the three that fell the most.
    pub rose_fell_series: Vec<(String, Vec<(i64, i64)>)>,
}

/// The changes over a recent window of the history, from `from` to the newest commit, with the
/// commits inside it that moved each the most.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub from: CommitMeta,
    pub rose: Vec<Delta>,
    pub fell: Vec<Delta>,
    pub moved_by: BTreeMap<String, Vec<CommitMove>>,
}

/// One table of changes: its title, what the `before` column holds, the changes, and the
/// commits behind them.
pub(crate) type ChangeTable<'e> = (
    String,
    &'static str,
    &'e [Delta],
    &'e BTreeMap<String, Vec<CommitMove>>,
);

impl Evolution {
    /// The tables of changes the report prints: rose and fell over the whole history, then over
    /// the last year when there is one.
    pub(crate) fn change_tables(&self) -> Vec<ChangeTable<'_>> {
        let mut tables: Vec<ChangeTable<'_>> = vec![
            (
                "Rose the most".into(),
                "first commit",
                &self.rose,
                &self.moved_by,
            ),
            (
                "Fell the most".into(),
                "first commit",
                &self.fell,
                &self.moved_by,
            ),
        ];
        if let Some(window) = &self.last_year {
            let since = crate::migrations::date(window.from.time);
            for (verb, deltas) in [("Rose", &window.rose), ("Fell", &window.fell)] {
                tables.push((
                    format!("{verb} the most over the last year (since {since})"),
                    "a year ago",
                    deltas,
                    &window.moved_by,
                ));
            }
        }
        tables
    }
}

/// Walk positions and changes per signature (`Store::commits_moving`) as commits.
fn commit_moves(
    moves: HashMap<String, Vec<(i64, i64)>>,
    by_seq: &HashMap<i64, &CommitMeta>,
) -> BTreeMap<String, Vec<CommitMove>> {
    moves
        .into_iter()
        .map(|(text, moves)| {
            let moves = moves
                .into_iter()
                .filter_map(|(seq, change)| Some(CommitMove::of(by_seq.get(&seq)?, change)))
                .collect();
            (text, moves)
        })
        .collect()
}

/// The first of `moves[signature]` in the direction of `change`: a rise for a pattern that
/// rose, a fall for one that fell.
pub(crate) fn moved_most_in<'m>(
    moves: &'m BTreeMap<String, Vec<CommitMove>>,
    signature: &str,
    change: i64,
) -> Option<&'m CommitMove> {
    moves
        .get(signature)?
        .iter()
        .find(|m| m.change.signum() == change.signum())
}

/// A commit id as the report prints it: its first 12 characters.
fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// A year, for the report's recent window.
const YEAR_SECONDS: i64 = 365 * 24 * 3600;

/// A pattern's fall from its peak.
#[derive(Debug, Clone, Serialize)]
pub struct PeakFall {
    pub signature: String,
    pub peak: i64,
    /// The first commit at the peak, and its time.
    pub peak_commit: String,
    pub peak_time: i64,
    pub now: i64,
}

/// One commit's change to a pattern's occurrences.
#[derive(Debug, Clone, Serialize)]
pub struct CommitMove {
    pub commit: String,
    pub time: i64,
    pub author: String,
    pub subject: String,
    pub change: i64,
}

/// Commits listed per pattern.
const MOVES_PER_PATTERN: usize = 3;

impl CommitMove {
    /// `change` made by `commit`.
    pub fn of(commit: &CommitMeta, change: i64) -> CommitMove {
        CommitMove {
            commit: short_id(&commit.id).to_string(),
            time: commit.time,
            author: commit.author.clone(),
            subject: commit.subject.clone(),
            change,
        }
    }

    /// `+12 in 1a2b3c4d5e6f (2024-01-31, Ada): use enum to replace const enum`: the author's
    /// name without the address.
    pub fn line(&self) -> String {
        let name = self.author.split(" <").next().unwrap_or(&self.author);
        format!(
            "{:+} in {} ({}, {name}): {}",
            self.change,
            self.commit,
            crate::migrations::date(self.time),
            self.subject
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PairOut {
    pub a: String,
    pub b: String,
    pub together: usize,
    pub lift: f64,
    /// The ranking: files together times the log of the lift.
    pub score: f64,
    pub jaccard: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cooccurrence {
    pub files: usize,
    /// The support applied (`--min-support`, or its default for this many files).
    pub min_support: usize,
    pub pairs: Vec<PairOut>,
    /// For each top pattern, its most related patterns (by lift).
    pub related: Vec<(String, Vec<(String, f64)>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseStep {
    pub from: String,
    pub to: String,
    pub new: usize,
    pub gone: usize,
    pub grown: usize,
    pub shrunk: usize,
    pub top: Vec<Delta>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    pub category: String,
    pub patterns: usize,
    pub occurrences: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Quality {
    pub files: usize,
    /// (path, ERROR/MISSING nodes).
    pub files_with_errors: Vec<(String, i64)>,
    /// (path, dialect, grammar used).
    pub fallbacks: Vec<(String, String, String)>,
    /// (reason, files).
    pub skipped: Vec<(String, i64)>,
}

/// The Migrations section: every migration at the report's commit, and for each that has sites,
/// its progress over time, the commits and authors that moved it most, and the files left.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationsSection {
    pub table: Vec<crate::migrations::MigrationSummary>,
    pub details: Vec<MigrationBrief>,
    /// Migrations nobody named (`patmine migrations --discover`), the first few.
    pub discovered: Vec<crate::discovery::Discovered>,
    /// Why the section is empty, when it is (a tracker the history has not evaluated).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationBrief {
    pub name: String,
    /// (unix time, progress by sites in 0..=1) where it changed.
    pub progress: Vec<(i64, f64)>,
    pub commits: Vec<crate::migrations::CommitEffect>,
    pub authors: Vec<crate::migrations::AuthorEffect>,
    pub frontier: Vec<crate::migrations::FrontierFile>,
    /// Files holding `from` sites, all of them (`frontier` lists the first few).
    pub frontier_files: usize,
}

/// Counts that leave out blobs that could not be analysed (missing from the object database,
/// or failed): they count as empty until a `history` run can read them.
#[derive(Debug, Clone, Serialize)]
pub struct Incomplete {
    /// Commits of the history whose trees hold such a blob, and the first of them.
    pub commits: usize,
    pub first_commit: Option<String>,
    /// Distinct such blobs in the history (or, for a scan, at the snapshot).
    pub blobs: usize,
    /// The snapshot's files holding one: (path, blob id, `missing` or `failed`).
    pub files: Vec<(String, String, String)>,
}

impl Incomplete {
    /// The note the report prints above its sections.
    pub fn note(&self) -> String {
        let files = match self.files.len() {
            0 => "none of the snapshot's files".to_string(),
            1 => format!("the snapshot's file {}", self.files[0].0),
            n => format!("{n} of the snapshot's files (first {})", self.files[0].0),
        };
        let span = match &self.first_commit {
            Some(first) => format!(
                "{} commit{} from {first} on hold",
                self.commits,
                if self.commits == 1 { "" } else { "s" }
            ),
            None => "the snapshot holds".to_string(),
        };
        format!(
            "Counts are incomplete: {span} {} blob{} that could not be analysed (missing from the object database, or failed), counted as empty; {files} hold{} one. Repair the repository and run `patmine history` again: the counts are corrected.",
            self.blobs,
            if self.blobs == 1 { "" } else { "s" },
            if self.files.len() == 1 { "s" } else { "" },
        )
    }
}

/// Commits, authors and files per migration in the report.
const MIGRATION_ROWS: usize = 5;
/// Discovered migrations in the report.
const DISCOVERED_ROWS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub title: String,
    /// The commit (history) or directory (scan) the snapshot sections describe.
    pub snapshot: String,
    pub patterns: Vec<PatternCard>,
    pub clusters: Vec<Cluster>,
    pub evolution: Option<Evolution>,
    pub cooccurrence: Cooccurrence,
    pub releases: Vec<ReleaseStep>,
    /// Releases off the analysed chain left out of `releases`: their trees were never analysed
    /// (`patmine compare --releases` analyses them; the report reads no repository).
    pub releases_left_out: usize,
    /// Counts that leave out blobs that could not be analysed, when some do.
    pub incomplete: Option<Incomplete>,
    /// Histories only.
    pub migrations: Option<MigrationsSection>,
    pub categories: Vec<CategoryRow>,
    pub quality: Quality,
    /// Chart file names under `charts/`, with their titles.
    pub charts: Vec<(String, String)>,
    /// Signatures clustered.
    pub clustered: usize,
    /// Seconds the clustering took: printed, not written, so the same database always gives
    /// the same files.
    #[serde(skip)]
    pub clustering_seconds: f64,
}

/// What the report describes: the newest commit of a history, or the newest scan.
struct Source {
    name: String,
    snapshot_label: String,
    snapshot: Snapshot,
    config: String,
    history: Option<(i64, Vec<CommitMeta>)>,
}

fn choose_source(store: &Store, options: &ReportOptions) -> Result<Source> {
    if let Some(scan_id) = options.scan_id {
        let ScanRow { root, config, .. } = store
            .scan(scan_id)?
            .with_context(|| format!("no finished scan {scan_id}"))?;
        return Ok(Source {
            name: root.clone(),
            snapshot_label: root,
            snapshot: Snapshot::Scan(scan_id),
            config,
            history: None,
        });
    }
    let repos = store.repos()?;
    let repo = match options.repo_id {
        Some(id) => repos.into_iter().find(|r| r.repo_id == id),
        None if repos.len() > 1 => anyhow::bail!(
            "the database holds {} repositories; name one with --repo",
            repos.len()
        ),
        None => repos.into_iter().next(),
    };
    if let Some(RepoRow {
        repo_id,
        name,
        config,
        ..
    }) = repo
    {
        let commits = store.commits(repo_id)?;
        let last = commits
            .last()
            .with_context(|| format!("{name}: no analysed commits"))?;
        return Ok(Source {
            snapshot_label: format!("{name} at {}", &last.id[..last.id.len().min(12)]),
            name,
            snapshot: Snapshot::Commit {
                repo_id,
                seq: last.seq,
            },
            config,
            history: Some((repo_id, commits)),
        });
    }
    let last = store
        .last_scan()?
        .context("the database holds no scan and no history")?;
    let ScanRow {
        scan_id,
        root,
        config,
    } = last;
    Ok(Source {
        name: root.clone(),
        snapshot_label: root,
        snapshot: Snapshot::Scan(scan_id),
        config,
        history: None,
    })
}

/// Steps (unix time, value) where a running count changed, drawn as a step line.
fn step_points(changes: &[(i64, i64)], end: i64) -> Vec<(i64, f64)> {
    let mut points = Vec::with_capacity(changes.len() * 2 + 1);
    let mut last = 0f64;
    for &(t, v) in changes {
        points.push((t, last));
        points.push((t, v as f64));
        last = v as f64;
    }
    if let Some(&(t, _)) = changes.last() {
        points.push((end.max(t), last));
    }
    points
}

/// The Migrations section of a history's report, at its newest commit.
fn migrations_section(
    store: &Store,
    repo_id: i64,
    config: &str,
    trackers: &TrackerSet,
) -> Result<MigrationsSection> {
    let history = crate::migrations::History::load(store, repo_id, config)?;
    let Some(at) = history.commits.last().map(|c| c.seq) else {
        return Ok(MigrationsSection {
            table: Vec::new(),
            details: Vec::new(),
            discovered: Vec::new(),
            note: Some("no analysed commits".to_string()),
        });
    };
    let mut discovered = crate::discovery::discover(store, repo_id, config, &history.commits, at)?;
    discovered.truncate(DISCOVERED_ROWS);
    let table = match history.summaries(trackers, at) {
        Ok(table) => table,
        Err(e) => match e.downcast::<crate::migrations::NotEvaluated>() {
            Ok(gap) => {
                return Ok(MigrationsSection {
                    table: Vec::new(),
                    details: Vec::new(),
                    discovered,
                    note: Some(gap.to_string()),
                });
            }
            Err(e) => return Err(e),
        },
    };
    let mut details = Vec::new();
    for row in table
        .iter()
        .filter(|r| r.status != crate::migrations::Status::Absent)
    {
        let d = history.detail(trackers, &row.name, at)?;
        details.push(MigrationBrief {
            name: row.name.clone(),
            progress: d
                .series
                .iter()
                .filter_map(|p| Some((history.commits[p.seq as usize].time, p.progress?)))
                .collect(),
            commits: d.commits.into_iter().take(MIGRATION_ROWS).collect(),
            authors: d.authors.into_iter().take(MIGRATION_ROWS).collect(),
            frontier_files: d.frontier.len(),
            frontier: d.frontier.into_iter().take(MIGRATION_ROWS).collect(),
        });
    }
    Ok(MigrationsSection {
        table,
        details,
        discovered,
        note: None,
    })
}

/// Gathers the whole report from the store.
pub fn build(store: &Store, options: &ReportOptions, trackers: &TrackerSet) -> Result<Report> {
    let source = choose_source(store, options)?;
    let pool = phrasebook::top_patterns(
        store,
        source.snapshot,
        &source.config,
        Level::Abstract,
        options.top * options.pool_factor.max(1),
    )?;

    // Clusters over the pool; each top pattern shows the variations clustered under it.
    let weighted: Vec<Weighted> = pool
        .iter()
        .map(|r| Weighted {
            signature: r.abstract_text.clone(),
            count: r.occurrences,
        })
        .collect();
    let cluster_started = std::time::Instant::now();
    let clusters = cluster::cluster(&weighted, options.threshold);
    let clustering_seconds = cluster_started.elapsed().as_secs_f64();
    let variations: HashMap<&str, &Vec<Weighted>> = clusters
        .iter()
        .map(|c| (c.canonical.signature.as_str(), &c.variations))
        .collect();

    // Series of the top patterns, when there is a history.
    let time_of: HashMap<i64, i64> = source
        .history
        .iter()
        .flat_map(|(_, commits)| commits.iter().map(|c| (c.seq, c.time)))
        .collect();
    let top_rows: Vec<PatternRow> = pool.iter().take(options.top).cloned().collect();
    let series = match &source.history {
        Some((repo_id, _)) => {
            let texts: Vec<&str> = top_rows.iter().map(|r| r.abstract_text.as_str()).collect();
            store.pattern_series(*repo_id, Level::Abstract, &texts)?
        }
        None => HashMap::new(),
    };
    let patterns: Vec<PatternCard> = top_rows
        .into_iter()
        .map(|row| PatternCard {
            variations: variations
                .get(row.abstract_text.as_str())
                .map(|v| (*v).clone())
                .unwrap_or_default(),
            series: series
                .get(&row.abstract_text)
                .map(|points| {
                    points
                        .iter()
                        .map(|(seq, v)| (time_of.get(seq).copied().unwrap_or(0), *v))
                        .collect()
                })
                .unwrap_or_default(),
            row,
        })
        .collect();

    // Co-occurrence at the snapshot.
    let file_patterns = store.file_patterns(source.snapshot)?;
    let pooled: std::collections::HashSet<&str> =
        pool.iter().map(|r| r.abstract_text.as_str()).collect();
    // Only patterns of the ranked pool count: they are the supported ones. They are numbered
    // in the order of their texts, which breaks ties between equally scored pairs.
    let mut names: Vec<&str> = (file_patterns.iter())
        .map(|(_, text)| text.as_str())
        .filter(|text| pooled.contains(text))
        .collect();
    names.sort_unstable();
    names.dedup();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let mut per_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (path, text) in &file_patterns {
        if let Some(&i) = index.get(text.as_str()) {
            per_file.entry(path.as_str()).or_default().push(i);
        }
    }
    let all_files: usize = file_patterns
        .iter()
        .map(|(p, _)| p.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    // Files without any pooled pattern still count towards the total.
    let mut files: Vec<Vec<usize>> = per_file.into_values().collect();
    files.resize(all_files.max(files.len()), Vec::new());
    let min_support = options
        .min_support
        .unwrap_or_else(|| cooccur::default_min_support(files.len()));
    // One signature holding another's text is mostly one site counted at two roots.
    let nests = |outer: usize, inner: usize| names[outer].contains(names[inner]);
    let scored = cooccur::pairs(&files, min_support, options.max_cooccurring, &nests);
    let pairs: Vec<PairOut> = scored
        .iter()
        .take(options.top)
        .map(|p| PairOut {
            a: names[p.a].to_string(),
            b: names[p.b].to_string(),
            together: p.together,
            lift: p.lift,
            score: p.score,
            jaccard: p.jaccard,
        })
        .collect();
    let related = patterns
        .iter()
        .take(10)
        .filter_map(|card| {
            let i = *index.get(card.row.abstract_text.as_str())?;
            let mut partners: Vec<(String, f64)> = scored
                .iter()
                .filter(|p| p.a == i || p.b == i)
                .map(|p| (names[if p.a == i { p.b } else { p.a }].to_string(), p.lift))
                .take(3)
                .collect();
            partners.truncate(3);
            (!partners.is_empty()).then(|| (card.row.abstract_text.clone(), partners))
        })
        .collect();
    let cooccurrence = Cooccurrence {
        files: files.len(),
        min_support,
        pairs,
        related,
    };

    // Categories at the snapshot (semantic level carries them).
    let semantic = phrasebook::top_patterns(
        store,
        source.snapshot,
        &source.config,
        Level::Semantic,
        usize::MAX >> 1,
    )?;
    let mut by_category: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for row in &semantic {
        let names: Vec<&str> = if row.category.is_empty() {
            vec!["(none)"]
        } else {
            row.category.split(',').collect()
        };
        for name in names {
            let e = by_category.entry(name.to_string()).or_default();
            e.0 += 1;
            e.1 += row.occurrences;
        }
    }
    let mut categories: Vec<CategoryRow> = by_category
        .into_iter()
        .map(|(category, (patterns, occurrences))| CategoryRow {
            category,
            patterns,
            occurrences,
        })
        .collect();
    categories.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then(a.category.cmp(&b.category))
    });

    // Parse quality at the snapshot.
    let mut quality = Quality::default();
    for file in store.file_quality(source.snapshot)? {
        if let BlobStatus::Skipped(reason) = file.status {
            match quality.skipped.iter_mut().find(|(r, _)| r == reason.name()) {
                Some(entry) => entry.1 += 1,
                None => quality.skipped.push((reason.name().to_string(), 1)),
            }
            continue;
        }
        quality.files += 1;
        if file.error_nodes > 0 {
            quality
                .files_with_errors
                .push((file.path.clone(), file.error_nodes));
        }
        if file.status == BlobStatus::Parsed && file.dialect.grammar().name() != file.grammar {
            quality
                .fallbacks
                .push((file.path, file.dialect.name().to_string(), file.grammar));
        }
    }
    if let Snapshot::Scan(scan_id) = source.snapshot {
        quality.skipped = (store.scan_skips(scan_id)?.into_iter())
            .map(|(reason, files)| (reason.name().to_string(), files))
            .collect();
    }
    quality
        .files_with_errors
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let files: Vec<(String, String, String)> = store
        .unanalysed_files(source.snapshot)?
        .into_iter()
        .map(|f| (f.path, f.blob, f.status.stored().into_owned()))
        .collect();
    let incomplete = match &source.history {
        Some((repo_id, commits)) => {
            let found = store.incomplete_commits(*repo_id)?;
            (found.commits > 0).then(|| Incomplete {
                commits: found.commits,
                first_commit: found
                    .first_seq
                    .and_then(|seq| commits.iter().find(|c| c.seq == seq))
                    .map(|c| short_id(&c.id).to_string()),
                blobs: found.blobs,
                files,
            })
        }
        None => (!files.is_empty()).then_some(Incomplete {
            commits: 0,
            first_commit: None,
            blobs: files.len(),
            files,
        }),
    };

    // Evolution, releases and migrations.
    let card_texts: Vec<&str> = patterns
        .iter()
        .map(|c| c.row.abstract_text.as_str())
        .collect();
    let (evolution, releases, releases_left_out) = match &source.history {
        Some((repo_id, commits)) => evolution(
            store,
            *repo_id,
            commits,
            &source.config,
            &time_of,
            &card_texts,
        )?,
        None => (None, Vec::new(), 0),
    };
    let migrations = match &source.history {
        Some((repo_id, _)) => Some(migrations_section(
            store,
            *repo_id,
            &source.config,
            trackers,
        )?),
        None => None,
    };

    Ok(Report {
        title: format!("patmine report: {}", source.name),
        snapshot: source.snapshot_label,
        patterns,
        clusters: clusters
            .into_iter()
            .filter(|c| !c.variations.is_empty())
            .take(options.top)
            .collect(),
        evolution,
        cooccurrence,
        releases,
        releases_left_out,
        incomplete,
        migrations,
        categories,
        quality,
        charts: Vec::new(),
        clustered: weighted.len(),
        clustering_seconds,
    })
}

fn evolution(
    store: &Store,
    repo_id: i64,
    commits: &[CommitMeta],
    config: &str,
    time_of: &HashMap<i64, i64>,
    card_texts: &[&str],
) -> Result<(Option<Evolution>, Vec<ReleaseStep>, usize)> {
    let (Some(first), Some(last)) = (commits.first(), commits.last()) else {
        return Ok((None, Vec::new(), 0));
    };
    let tags = store.tags(repo_id)?;
    let releases: Vec<(String, i64)> = tags
        .iter()
        .map(|tag| (tag.name.clone(), time_of[&tag.seq]))
        .collect();
    let metric_rows = store.metric_series(repo_id)?;
    let pattern_totals = store.pattern_totals(repo_id)?;
    let totals = metric_rows
        .iter()
        .zip(&pattern_totals)
        .map(|((seq, m), totals)| {
            (
                time_of[seq],
                m[0],
                m[1],
                totals.distinct,
                totals.occurrences,
            )
        })
        .collect();
    let mut metrics: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for (i, kind) in METRIC_KINDS.iter().enumerate() {
        metrics.insert(
            kind.to_string(),
            metric_rows
                .iter()
                .map(|(seq, m)| (time_of[seq], m[i + 2]))
                .collect(),
        );
    }
    // Releases: the chain's tags and those off it whose trees `at` or `compare` kept (the
    // others are counted as left out: the report reads no repository).
    // (`at`: the snapshot, `None` for a tag off the chain whose tree was never analysed.)
    let mut candidates: Vec<Release<Option<Snapshot>>> = tags
        .iter()
        .map(|t| Release {
            name: t.name.clone(),
            at: Some(Snapshot::Commit {
                repo_id,
                seq: t.seq,
            }),
            order: (time_of[&t.seq], t.seq),
        })
        .collect();
    for (name, kept) in store.off_chain_tags(repo_id)? {
        candidates.push(Release {
            name,
            at: kept.map(|tree| Snapshot::Scan(tree.scan_id)),
            order: (kept.map_or(i64::MAX, |tree| tree.committer_time), i64::MAX),
        });
    }
    // The order is decided over the tags compared: one never analysed that is not a version
    // would otherwise put every release in date order.
    let left_out = crate::releases::choose(&candidates, &[], false, |r| r.order)
        .iter()
        .filter(|r| r.at.is_none())
        .count();
    candidates.retain(|r| r.at.is_some());
    let chosen: Vec<(&str, Snapshot)> =
        crate::releases::choose(&candidates, &[], false, |r| r.order)
            .into_iter()
            .filter_map(|r| Some((r.name.as_str(), r.at?)))
            .collect();
    // Every comparison below, in one pass: the first commit against the last, then each
    // release against the one before it (in version order, pre-releases left out).
    let commit = |seq| Snapshot::Commit { repo_id, seq };
    // The last year: from the newest commit a year or more before the newest one (none when
    // the whole history is younger).
    let year_ago = commits
        .iter()
        .rev()
        .find(|c| c.time <= last.time - YEAR_SECONDS)
        .filter(|c| c.seq != first.seq);
    let mut pairs = vec![(commit(first.seq), commit(last.seq))];
    if let Some(start) = year_ago {
        pairs.push((commit(start.seq), commit(last.seq)));
    }
    let windows = pairs.len();
    pairs.extend(chosen.windows(2).map(|w| (w[0].1, w[1].1)));
    let mut compared = compare::compare_snapshots(store, &pairs, Level::Abstract, config)?;
    let by_release = compared.split_off(windows);
    let recent_deltas = if year_ago.is_some() {
        compared.pop().unwrap_or_default()
    } else {
        Vec::new()
    };
    let deltas = compared.pop().unwrap_or_default();
    let last_year = match year_ago {
        Some(start) => {
            let (rose, fell) = compare::rose_and_fell(&recent_deltas, 10);
            let changed: Vec<&Delta> = rose.iter().chain(&fell).copied().collect();
            let texts: Vec<&str> = changed.iter().map(|d| d.signature.as_str()).collect();
            let moves = store.commits_moving_within(
                repo_id,
                Level::Abstract,
                &texts,
                MOVES_PER_PATTERN,
                (start.seq, last.seq),
            )?;
            let by_seq: HashMap<i64, &CommitMeta> = commits.iter().map(|c| (c.seq, c)).collect();
            Some(Window {
                from: start.clone(),
                rose: rose.into_iter().cloned().collect(),
                fell: fell.into_iter().cloned().collect(),
                moved_by: commit_moves(moves, &by_seq),
            })
        }
        None => None,
    };
    let (rose, fell) = compare::rose_and_fell(&deltas, 10);
    let rose: Vec<Delta> = rose.into_iter().cloned().collect();
    let fell: Vec<Delta> = fell.into_iter().cloned().collect();
    let movers: Vec<&Delta> = rose.iter().take(3).chain(fell.iter().take(3)).collect();
    let texts: Vec<&str> = movers.iter().map(|d| d.signature.as_str()).collect();
    let series = store.pattern_series(repo_id, Level::Abstract, &texts)?;
    let rose_fell_series = movers
        .iter()
        .map(|d| {
            let points = series
                .get(&d.signature)
                .map(|p| p.iter().map(|(seq, v)| (time_of[seq], *v)).collect())
                .unwrap_or_default();
            (d.signature.clone(), points)
        })
        .collect();

    // Falls from a peak, and the commits behind every listed change.
    let by_seq: HashMap<i64, &CommitMeta> = commits.iter().map(|c| (c.seq, c)).collect();
    let fell_from_peak: Vec<PeakFall> = store
        .falls_from_peak(repo_id, Level::Abstract, 10)?
        .into_iter()
        .filter_map(|(signature, peak, peak_seq, now)| {
            let at = by_seq.get(&peak_seq)?;
            Some(PeakFall {
                signature,
                peak,
                peak_commit: short_id(&at.id).to_string(),
                peak_time: at.time,
                now,
            })
        })
        .collect();
    let mut listed: Vec<&str> = card_texts.to_vec();
    listed.extend(rose.iter().chain(&fell).map(|d| d.signature.as_str()));
    listed.extend(fell_from_peak.iter().map(|f| f.signature.as_str()));
    listed.sort_unstable();
    listed.dedup();
    let moved_by = commit_moves(
        store.commits_moving(repo_id, Level::Abstract, &listed, MOVES_PER_PATTERN)?,
        &by_seq,
    );

    let mut steps = Vec::new();
    for (pair, d) in chosen.windows(2).zip(by_release) {
        let (from, to) = (pair[0].0, pair[1].0);
        let count = |c: compare::Change| d.iter().filter(|x| x.change == c).count();
        steps.push(ReleaseStep {
            from: from.to_string(),
            to: to.to_string(),
            new: count(compare::Change::New),
            gone: count(compare::Change::Gone),
            grown: count(compare::Change::Grown),
            shrunk: count(compare::Change::Shrunk),
            top: d.into_iter().take(5).collect(),
        });
    }
    Ok((
        Some(Evolution {
            commits: commits.len(),
            first: first.clone(),
            last: last.clone(),
            releases,
            totals,
            metrics,
            rose,
            fell,
            fell_from_peak,
            moved_by,
            last_year,
            rose_fell_series,
        }),
        steps,
        left_out,
    ))
}

/// What the Releases section says of the releases it leaves out, if any.
pub(crate) fn releases_left_out_note(left_out: usize) -> Option<String> {
    (left_out > 0).then(|| {
        format!(
            "{left_out} release{} off the analysed chain {} left out: {} never analysed. `patmine compare --releases` analyses {} and keeps {}.",
            if left_out == 1 { "" } else { "s" },
            if left_out == 1 { "is" } else { "are" },
            if left_out == 1 { "its tree was" } else { "their trees were" },
            if left_out == 1 { "it" } else { "them" },
            if left_out == 1 { "it" } else { "them" },
        )
    })
}

/// Releases in the Releases chart, the newest ones: more would not be legible.
const RELEASES_CHARTED: usize = 12;

/// Whether a chart belongs in the Evolution section (the others sit in their own sections).
pub(crate) fn is_evolution_chart(file: &str) -> bool {
    !file.starts_with("pattern-") && file != "migrations.svg" && file != "releases.svg"
}

/// Renders the charts of a report: (file name, title, SVG).
pub fn render_charts(report: &Report) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    let Some(evo) = &report.evolution else {
        return Ok(out);
    };
    let end = evo.last.time;
    let big = (600, 320);
    let totals = |pick: fn(&(i64, i64, i64, i64, i64)) -> i64| {
        evo.totals
            .iter()
            .map(|t| (t.0, pick(t) as f64))
            .collect::<Vec<_>>()
    };
    let charts: Vec<(&str, &str, &str, Vec<Series<'_>>)> = vec![
        (
            "totals.svg",
            "Files and distinct patterns",
            "count",
            vec![
                Series {
                    name: "files",
                    points: totals(|t| t.1),
                },
                Series {
                    name: "distinct patterns",
                    points: totals(|t| t.3),
                },
            ],
        ),
        (
            "lines.svg",
            "Lines of code and pattern occurrences",
            "count",
            vec![
                Series {
                    name: "lines",
                    points: totals(|t| t.2),
                },
                Series {
                    name: "occurrences",
                    points: totals(|t| t.4),
                },
            ],
        ),
        (
            "declarations.svg",
            "Declarations: var, let, const",
            "count",
            metric_series(evo, &["var", "let", "const"]),
        ),
        (
            "functions.svg",
            "Function kinds",
            "count",
            metric_series(
                evo,
                &[
                    "function_declaration",
                    "function_expression",
                    "arrow_function",
                    "method_definition",
                    "class_declaration",
                ],
            ),
        ),
        (
            "control.svg",
            "Control flow and async",
            "count",
            metric_series(
                evo,
                &[
                    "if_statement",
                    "switch_statement",
                    "ternary_expression",
                    "for_statement",
                    "for_in_statement",
                    "while_statement",
                    "try_statement",
                    "await_expression",
                ],
            ),
        ),
    ];
    for (file, title, y, series) in charts {
        out.push((
            file.to_string(),
            title.to_string(),
            charts::line_chart(title, y, &series, &evo.releases, big)?,
        ));
    }
    if let Some(section) = &report.migrations
        && !section.details.is_empty()
    {
        // Percent done over time, for the migrations with the most sites.
        let mut by_sites: Vec<&MigrationBrief> = section.details.iter().collect();
        let sites = |name: &str| {
            section
                .table
                .iter()
                .find(|r| r.name == name)
                .map_or(0, |r| r.from.occurrences + r.to.occurrences)
        };
        by_sites.sort_by_key(|b| std::cmp::Reverse(sites(&b.name)));
        let series: Vec<Series<'_>> = by_sites
            .iter()
            .take(6)
            .map(|b| {
                // A step line: progress holds until the next commit that changes it.
                let mut points = Vec::with_capacity(b.progress.len() * 2 + 1);
                for &(t, p) in &b.progress {
                    if let Some(&(_, previous)) = points.last() {
                        points.push((t, previous));
                    }
                    points.push((t, 100.0 * p));
                }
                if let Some(&(_, last)) = points.last() {
                    points.push((end, last));
                }
                Series {
                    name: b.name.as_str(),
                    points,
                }
            })
            .collect();
        out.push((
            "migrations.svg".into(),
            "Migrations: % done (by sites)".into(),
            charts::line_chart(
                "Migrations: % done (by sites)",
                "% done",
                &series,
                &evo.releases,
                big,
            )?,
        ));
    }
    if !report.releases.is_empty() {
        // Bars: releases are discrete steps, not points on a line.
        let shown = &report.releases[report.releases.len().saturating_sub(RELEASES_CHARTED)..];
        let labels: Vec<String> = shown.iter().map(|r| r.to.clone()).collect();
        let values = |pick: fn(&ReleaseStep) -> usize| -> Vec<f64> {
            shown.iter().map(|r| pick(r) as f64).collect()
        };
        let title = if shown.len() < report.releases.len() {
            format!("Patterns changed by the last {} releases", shown.len())
        } else {
            "Patterns changed by each release".to_string()
        };
        out.push((
            "releases.svg".into(),
            title.clone(),
            charts::bar_chart(
                &title,
                "patterns",
                &labels,
                &[
                    ("new", values(|r| r.new)),
                    ("gone", values(|r| r.gone)),
                    ("grown", values(|r| r.grown)),
                    ("shrunk", values(|r| r.shrunk)),
                ],
                big,
            )?,
        ));
    }
    let top: Vec<Series<'_>> = report
        .patterns
        .iter()
        .take(6)
        .map(|c| Series {
            name: c.row.abstract_text.as_str(),
            points: step_points(&c.series, end),
        })
        .collect();
    out.push((
        "top-patterns.svg".into(),
        "Top patterns over time".into(),
        charts::line_chart(
            "Top patterns over time",
            "occurrences",
            &top,
            &evo.releases,
            big,
        )?,
    ));
    let movers: Vec<Series<'_>> = evo
        .rose_fell_series
        .iter()
        .map(|(sig, points)| Series {
            name: sig.as_str(),
            points: step_points(points, end),
        })
        .collect();
    out.push((
        "rose-fell.svg".into(),
        "Rose and fell the most".into(),
        charts::line_chart(
            "Rose and fell the most",
            "occurrences",
            &movers,
            &evo.releases,
            big,
        )?,
    ));
    for card in &report.patterns {
        if card.series.is_empty() {
            continue;
        }
        let s = [Series {
            name: "",
            points: step_points(&card.series, end),
        }];
        let title = format!("#{} occurrences", card.row.rank);
        out.push((
            format!("pattern-{}.svg", card.row.rank),
            title.clone(),
            charts::line_chart(&title, "occurrences", &s, &evo.releases, (560, 240))?,
        ));
    }
    Ok(out)
}

fn metric_series<'a>(evo: &'a Evolution, kinds: &[&'a str]) -> Vec<Series<'a>> {
    kinds
        .iter()
        .filter_map(|k| {
            evo.metrics.get(*k).map(|points| Series {
                name: k,
                points: points.iter().map(|&(t, v)| (t, v as f64)).collect(),
            })
        })
        .collect()
}

/// The report as Markdown.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {}\n\nSnapshot: {}\n",
        md_text(&report.title),
        md_text(&report.snapshot)
    );
    if let Some(incomplete) = &report.incomplete {
        let _ = writeln!(out, "**{}**\n", md_text(&incomplete.note()));
    }
    if let Some(evo) = &report.evolution {
        let _ = writeln!(
            out,
            "## Evolution\n\n{} commits, from `{}` to `{}`.\n",
            evo.commits,
            short_id(&evo.first.id),
            short_id(&evo.last.id)
        );
        for (file, title) in &report.charts {
            if is_evolution_chart(file) {
                let _ = writeln!(out, "![{title}](charts/{file})\n");
            }
        }
        let moved_most = |signature: &str, change: i64| {
            moved_most_in(&evo.moved_by, signature, change)
                .map(|m| md_text(&m.line()))
                .unwrap_or_default()
        };
        for (name, before, deltas, moves) in evo.change_tables() {
            let _ = writeln!(
                out,
                "### {name}\n\n| signature | {before} | newest commit | change | moved most by |\n|---|---:|---:|---:|---|"
            );
            for d in deltas {
                let by = moved_most_in(moves, &d.signature, d.absolute)
                    .map(|m| md_text(&m.line()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:+} | {by} |",
                    md_code(&d.signature),
                    d.before,
                    d.after,
                    d.absolute
                );
            }
            out.push('\n');
        }
        if !evo.fell_from_peak.is_empty() {
            let _ = writeln!(
                out,
                "### Fell the most from its peak\n\n| signature | peak | at | newest commit | moved most by |\n|---|---:|---|---:|---|"
            );
            for f in &evo.fell_from_peak {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} ({}) | {} | {} |",
                    md_code(&f.signature),
                    f.peak,
                    f.peak_commit,
                    crate::migrations::date(f.peak_time),
                    f.now,
                    moved_most(&f.signature, -1)
                );
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "## Top patterns\n\n| rank | signature | semantic | category | occurrences | files | variations |\n|---:|---|---|---|---:|---:|---:|"
    );
    for c in &report.patterns {
        let r = &c.row;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.rank,
            md_code(&r.abstract_text),
            md_code(&r.semantic_text),
            md_text(&r.category),
            r.occurrences,
            r.files,
            c.variations.len()
        );
    }
    let _ = writeln!(out, "\n## Clusters of near-identical signatures\n");
    for c in &report.clusters {
        let _ = writeln!(
            out,
            "- {} ({}; {} in all)",
            md_code(&c.canonical.signature),
            c.canonical.count,
            c.total
        );
        for v in &c.variations {
            let _ = writeln!(out, "  - {} ({})", md_code(&v.signature), v.count);
        }
    }
    let co = &report.cooccurrence;
    let _ = writeln!(
        out,
        "\n## Co-occurrence\n\n{} files; patterns and pairs in at least {} files, pairs where one signature holds the other left out; ranked by files together × ln(lift).\n\n| pattern | pattern | files together | lift | score | Jaccard |\n|---|---|---:|---:|---:|---:|",
        co.files, co.min_support
    );
    if co.pairs.is_empty() {
        let _ = writeln!(
            out,
            "| (no pair of patterns reaches that support here) | | | | | |"
        );
    }
    for p in &co.pairs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {:.1} | {:.2} |",
            md_code(&p.a),
            md_code(&p.b),
            p.together,
            p.lift,
            p.score,
            p.jaccard
        );
    }
    if !report.releases.is_empty() {
        let _ = writeln!(out, "\n## Releases\n");
        if let Some((file, title)) = report.charts.iter().find(|(f, _)| f == "releases.svg") {
            let _ = writeln!(out, "![{title}](charts/{file})\n");
        }
        let _ = writeln!(
            out,
            "| from | to | new | gone | grown | shrunk | largest change |\n|---|---|---:|---:|---:|---:|---|"
        );
        for r in &report.releases {
            let top = r
                .top
                .first()
                .map(|d| format!("{} {:+}", md_code(&d.signature), d.absolute))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md_text(&r.from),
                md_text(&r.to),
                r.new,
                r.gone,
                r.grown,
                r.shrunk,
                top
            );
        }
    }
    if let Some(note) = releases_left_out_note(report.releases_left_out) {
        if report.releases.is_empty() {
            let _ = writeln!(out, "\n## Releases\n");
        }
        let _ = writeln!(out, "\n{note}");
    }
    if let Some(section) = &report.migrations {
        out.push_str("\n## Migrations\n\n");
        match &section.note {
            Some(note) => {
                let _ = writeln!(out, "{}", migrations::md_text(note));
            }
            None => {
                if let Some((file, title)) =
                    report.charts.iter().find(|(f, _)| f == "migrations.svg")
                {
                    let _ = writeln!(out, "![{title}](charts/{file})\n");
                }
                let table = migrations::render_table_markdown("", &section.table);
                // The table without its (empty) title.
                out.push_str(table.trim_start_matches("# \n\n"));
                for b in &section.details {
                    let _ = writeln!(
                        out,
                        "\n### {}\n\n| commit | date | author | converted | removed | written new | backslid | retired |\n|---|---|---|---:|---:|---:|---:|---:|",
                        migrations::md_text(&b.name)
                    );
                    for c in &b.commits {
                        let e = &c.effect;
                        let _ = writeln!(
                            out,
                            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
                            &c.commit[..10.min(c.commit.len())],
                            c.date,
                            migrations::md_text(&c.author),
                            e.converted,
                            e.removed,
                            e.written_new,
                            e.backslid,
                            e.retired
                        );
                    }
                    if b.frontier_files > 0 {
                        let _ =
                            writeln!(out, "\nLeft in {} files, most first:\n", b.frontier_files);
                        for f in &b.frontier {
                            let _ = writeln!(
                                out,
                                "- {} ({} sites; last changed {} by {})",
                                migrations::md_text(&f.path),
                                f.occurrences,
                                f.last_commit.date,
                                migrations::md_text(&f.last_author)
                            );
                        }
                    }
                }
            }
        }
        out.push_str("\n### Found without being named\n\n");
        if section.discovered.is_empty() {
            out.push_str("No edit between signatures moved at least 5 sites mostly one way.\n");
        } else {
            out.push_str(&migrations::render_discovered_markdown(
                "",
                &section.discovered,
            ));
        }
    }
    let _ = writeln!(
        out,
        "\n## Categories\n\n| category | patterns | occurrences |\n|---|---:|---:|"
    );
    for c in &report.categories {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            md_text(&c.category),
            c.patterns,
            c.occurrences
        );
    }
    let q = &report.quality;
    let _ = writeln!(
        out,
        "\n## Parse quality\n\n{} files analysed; {} with ERROR/MISSING nodes; {} parsed with the fallback grammar.\n",
        q.files,
        q.files_with_errors.len(),
        q.fallbacks.len()
    );
    for (reason, n) in &q.skipped {
        let _ = writeln!(out, "- skipped, {reason}: {n}");
    }
    for (path, errors) in q.files_with_errors.iter().take(20) {
        let _ = writeln!(out, "- {}: {errors} error nodes", md_code(path));
    }
    out
}

/// Writes report.json, report.md, index.html and charts/*.svg into `dir`.
pub fn write(
    store: &Store,
    options: &ReportOptions,
    trackers: &TrackerSet,
    dir: &Path,
) -> Result<Report> {
    let mut report = build(store, options, trackers)?;
    let charts = render_charts(&report)?;
    let chart_dir = dir.join("charts");
    std::fs::create_dir_all(&chart_dir)
        .with_context(|| format!("creating {}", chart_dir.display()))?;
    for (file, title, svg) in &charts {
        crate::output::replace_file(&chart_dir.join(file), svg.as_bytes())?;
        report.charts.push((file.clone(), title.clone()));
    }
    // Charts an earlier report drew in this folder and this one does not.
    let drawn: Vec<&str> = charts.iter().map(|(file, _, _)| file.as_str()).collect();
    crate::output::remove_stale(&chart_dir, ".svg", &drawn)?;
    let json = serde_json::to_string_pretty(&report)?;
    crate::output::replace_file(&dir.join("report.json"), json.as_bytes())?;
    crate::output::replace_file(&dir.join("report.md"), render_markdown(&report).as_bytes())?;
    let html = html::render(&report, &charts);
    crate::output::replace_file(&dir.join("index.html"), html.as_bytes())?;
    Ok(report)
}
