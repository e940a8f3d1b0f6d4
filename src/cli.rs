//! Command-line definitions (each flag once, with its help) and the commands that wire stages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use patmine::analyze::Analyzer;
use patmine::dialect::Dialect;
use patmine::filter::{Filter, FilterOptions};
use patmine::history::{self, HistoryOptions};
use patmine::normalize::NormalizeOptions;
use patmine::phrasebook::{self, Level, PatternRow};
use patmine::progress::Progress;
use patmine::queries::QuerySet;
use patmine::releases::Release;
use patmine::report::ReportOptions;
use patmine::revision::Resolved;
use patmine::revision_tree::{Locator, TreeSummary};
use patmine::rules::Rulebook;
use patmine::scan::{self, StoreSource};
use patmine::store::{RepoRow, Snapshot, Store};
use patmine::trackers::TrackerSet;

#[derive(Parser)]
#[command(
    name = "patmine",
    version,
    about = "Mine the idioms of JavaScript and TypeScript code and how they change across git history"
)]
pub struct Cli {
    /// DuckDB database file (created if missing). Default: `patmine/patmine.duckdb` in the
    /// per-user data directory (`$XDG_DATA_HOME`, else `~/.local/share`), one database for every
    /// repository, outside any working tree.
    #[arg(long, global = true, env = "PATMINE_DB")]
    db: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rank the idioms of a source tree (a phrasebook), storing counts in the database.
    Scan(ScanArgs),
    /// Count patterns at every commit of a repository's first-parent history, from git objects.
    History(HistoryArgs),
    /// Print the patterns and node-kind metrics at one revision: a commit of the analysed
    /// history read from the database, or one off it analysed from its tree.
    At(AtArgs),
    /// Write report.json, report.md, index.html and SVG charts from the database.
    Report(ReportArgs),
    /// Patterns new, gone, grown and shrunk between two revisions (commits, tags or dates), or
    /// release over release.
    Compare(CompareArgs),
    /// Migrations between trackers: % done, when, who, what is left, from the database alone.
    Migrations(MigrationsArgs),
    /// The ratchet for CI: exit 1 when a migration's `from` sites grew against a baseline revision.
    Check(CheckArgs),
    /// Print every pattern occurrence of one file with its signatures (a debugging aid).
    Explain(ExplainArgs),
    /// Print a shell completion script: `patmine completions bash > /etc/bash_completion.d/patmine`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `patmine man > patmine.1`.
    Man,
    /// Benchmark baseline: read, filter and parse only (a directory, or with --git the unique
    /// blobs of a history); prints one JSON line.
    #[command(hide = true)]
    Floor(FloorArgs),
}

#[derive(Args)]
struct FloorArgs {
    /// A directory, or with --git a repository.
    path: PathBuf,
    /// Parse the unique JS/TS blobs of the first-parent history from HEAD.
    #[arg(long)]
    git: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short, value_parser = count_in(1..=1024))]
    jobs: Option<usize>,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Args)]
struct HistoryArgs {
    /// Repository (bare or not, or a linked worktree).
    #[arg(default_value = ".")]
    repo: PathBuf,
    /// Only commits at or after this date (committer time): `2023-01-01`, `2 years ago`, ...
    #[arg(long)]
    since: Option<String>,
    /// Only commits at or before this date.
    #[arg(long)]
    until: Option<String>,
    /// Walk first parents from this revision.
    #[arg(long, default_value = "HEAD")]
    rev: String,
    /// Commits per database transaction.
    #[arg(long, default_value_t = 200, value_parser = count_in(1..=1_000_000))]
    batch: usize,
    #[command(flatten)]
    trackers: TrackerArgs,
    /// Count no trackers (patterns and metrics only); any trackers file is ignored.
    #[arg(long)]
    no_trackers: bool,
    #[command(flatten)]
    analysis: AnalysisArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Also write the full report (see `patmine report`) into this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    report_settings: ReportSettings,
}

#[derive(Args)]
struct AtArgs {
    /// Any revision git resolves (`HEAD~3`, a branch, a tag, `v2.0^2`, an id or its prefix), or
    /// a date (default: the newest analysed commit). A commit off the analysed first-parent
    /// chain is analysed from its tree once and kept.
    rev: Option<String>,
    /// The repository, when the database holds several.
    #[arg(long)]
    repo: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    trackers: TrackerArgs,
    #[command(
        flatten,
        next_help_heading = "Analysing a revision off the history (as `history` was run)"
    )]
    analysis: AnalysisArgs,
    #[command(
        flatten,
        next_help_heading = "Analysing a revision off the history (as `history` was run)"
    )]
    filter: FilterArgs,
}

/// Which trackers and migrations to count.
#[derive(Args, Clone)]
struct TrackerArgs {
    /// Trackers and migrations (YAML; docs/trackers.md). Default: `.patmine/trackers.yaml` in the
    /// current directory (for `check`, at the repository's top) when it exists, else the
    /// built-in set.
    #[arg(long, value_name = "FILE", env = "PATMINE_TRACKERS")]
    trackers: Option<PathBuf>,
}

impl TrackerArgs {
    fn load(&self) -> Result<TrackerSet> {
        self.load_in(Path::new("."))
    }

    /// The set for a command that works on the repository at `dir` (its default file is there).
    fn load_in(&self, dir: &Path) -> Result<TrackerSet> {
        Ok(TrackerSet::load(self.trackers.as_deref(), dir)?)
    }
}

#[derive(Args)]
struct MigrationsArgs {
    /// One migration in full: its releases, the commits and authors that moved it, the files left.
    name: Option<String>,
    /// Read at this revision: any revision git resolves to an analysed commit, or a date
    /// (default: the newest analysed commit).
    #[arg(long)]
    at: Option<String>,
    /// The repository, when the database holds several.
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Print Markdown.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// List the migrations nobody named: signatures that fell while others rose in the same files.
    #[arg(long, conflicts_with = "name")]
    discover: bool,
    /// Discovered migrations to print.
    #[arg(long, default_value_t = 15, value_parser = count_in(1..=MAX_ROWS))]
    top: usize,
    #[command(flatten)]
    trackers: TrackerArgs,
}

#[derive(Args)]
struct CheckArgs {
    /// A path inside the repository to check (default: the current directory); its whole
    /// working tree is checked.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The revision to compare with.
    #[arg(long, default_value = "HEAD")]
    baseline: String,
    /// Check this revision of the repository instead of the working tree.
    #[arg(long)]
    rev: Option<String>,
    /// Only this migration (repeatable; default: all).
    #[arg(long = "migration", value_name = "NAME")]
    migrations: Vec<String>,
    #[command(flatten)]
    trackers: TrackerArgs,
    #[command(flatten)]
    analysis: AnalysisArgs,
    #[command(flatten)]
    filter: FilterArgs,
}

/// How reports are made.
#[derive(Args, Clone)]
struct ReportSettings {
    /// Patterns on the dashboard and in the tables.
    #[arg(long = "report-top", default_value_t = ReportOptions::default().top, value_parser = count_in(1..=100_000))]
    report_top: usize,
    /// Similarity (0-100) at which two signatures join a cluster.
    #[arg(long, default_value_t = ReportOptions::default().threshold, value_parser = percent)]
    threshold: f64,
    /// The clustering pool is this many times the number of patterns shown.
    #[arg(long, default_value_t = ReportOptions::default().pool_factor, value_parser = count_in(1..=1000))]
    pool: usize,
    /// Files a pattern, and a pair, must appear in to take part in co-occurrence (default: 1% of
    /// the files, and at least 5).
    #[arg(long, value_parser = count_in(1..=u32::MAX as u64))]
    min_support: Option<usize>,
}

impl ReportSettings {
    fn options(&self, repo_id: Option<i64>) -> ReportOptions {
        ReportOptions {
            top: self.report_top.max(1),
            threshold: self.threshold,
            pool_factor: self.pool.max(1),
            min_support: self.min_support,
            repo_id,
            ..ReportOptions::default()
        }
    }
}

#[derive(Args)]
struct ReportArgs {
    /// Directory to write into.
    #[arg(long, default_value = "reports/patmine")]
    out: PathBuf,
    /// The repository, when the database holds several.
    #[arg(long)]
    repo: Option<PathBuf>,
    #[command(flatten)]
    settings: ReportSettings,
    #[command(flatten)]
    trackers: TrackerArgs,
}

#[derive(Args)]
struct CompareArgs {
    /// The older snapshot: any revision git resolves, or a date. A commit off the analysed
    /// first-parent chain is analysed from its tree once and kept.
    a: Option<String>,
    /// The newer snapshot (default: the newest analysed commit).
    b: Option<String>,
    /// Compare each release with the one before it: the repository's tags, on the analysed
    /// chain or off it, in version order (semver precedence, with or without a `v`; by date when
    /// some tag is not a version). One line per pair unless `--top` or `--json` asks for the
    /// tables.
    #[arg(long, conflicts_with_all = ["a", "b"])]
    releases: bool,
    /// With `--releases`: only tags matching this glob (`*` any text, `?` one character);
    /// give it again for more (`--tags '4.*' --tags 'v4.*'`).
    #[arg(long, value_name = "GLOB", requires = "releases")]
    tags: Vec<String>,
    /// With `--releases`: include pre-releases (`-alpha`, `-beta.1`, `-rc.2`, ...).
    #[arg(long, requires = "releases")]
    pre: bool,
    /// The repository, when the database holds several.
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Rows per comparison (default 25).
    #[arg(long, value_parser = count_in(1..=MAX_ROWS))]
    top: Option<usize>,
    #[arg(long, value_enum, default_value_t = Level::Abstract)]
    level: Level,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Print Markdown.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    #[command(
        flatten,
        next_help_heading = "Analysing revisions off the history (as `history` was run)"
    )]
    trackers: TrackerArgs,
    #[command(
        flatten,
        next_help_heading = "Analysing revisions off the history (as `history` was run)"
    )]
    analysis: AnalysisArgs,
    #[command(
        flatten,
        next_help_heading = "Analysing revisions off the history (as `history` was run)"
    )]
    filter: FilterArgs,
}

#[derive(Args)]
struct ExplainArgs {
    /// A .js/.mjs/.cjs/.jsx/.ts/.tsx file.
    file: PathBuf,
    #[command(flatten)]
    analysis: AnalysisArgs,
}

/// What is analysed and how: queries, rulebook, normalizer limits, threads.
#[derive(Args, Clone)]
struct AnalysisArgs {
    /// Semantic rulebook (YAML) replacing the built-in one; `extends: default` in it extends instead.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Directory with javascript.scm, typescript.scm and tsx.scm replacing the built-in root queries.
    #[arg(long, value_name = "DIR")]
    queries: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, short, value_parser = count_in(1..=1024))]
    jobs: Option<usize>,
    /// Elements kept in argument lists, arrays and objects before `…`.
    #[arg(long, default_value_t = NormalizeOptions::default().max_elements, value_parser = count_in(1..=100_000))]
    max_elements: usize,
    /// Longest signature, in bytes, before it is cut with `…`.
    #[arg(long, default_value_t = NormalizeOptions::default().max_len, value_parser = count_in(16..=1_000_000))]
    max_len: usize,
    /// A .js/.mjs/.cjs parse with more ERROR/MISSING nodes than this is retried with the tsx grammar.
    #[arg(long, default_value_t = patmine::analyze::DEFAULT_FALLBACK_THRESHOLD)]
    fallback_threshold: u32,
    /// Seconds one parse of one file may take; a file over it is left out as `parse-timeout`
    /// (named, exit 1) and tried again by the next run.
    #[arg(long, value_name = "SECONDS", default_value_t = patmine::analyze::DEFAULT_PARSE_BUDGET.as_secs_f64(), value_parser = seconds)]
    parse_budget: f64,
}

/// A positive number of seconds, at most a day.
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if value.is_finite() && value > 0.0 && value <= 86_400.0 {
        Ok(value)
    } else {
        Err(format!("{value} is not in 0 < seconds <= 86400"))
    }
}

#[derive(Args, Clone)]
struct FilterArgs {
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = FilterOptions::default().max_bytes)]
    max_bytes: u64,
    /// Only paths matching one of these globs (relative to the root; repeatable).
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Skip paths matching one of these globs (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Also analyse node_modules/, vendor/, dist/, build/ and bower_components/.
    #[arg(long)]
    keep_vendored: bool,
}

#[derive(Args, Clone)]
struct OutputArgs {
    /// How many patterns to print.
    #[arg(long, default_value_t = 25, value_parser = count_in(1..=MAX_ROWS))]
    top: usize,
    /// Group patterns by their abstract or semantic signature.
    #[arg(long, value_enum, default_value_t = Level::Abstract)]
    level: Level,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write phrasebook.json and phrasebook.md into this directory.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
}

#[derive(Args)]
struct ScanArgs {
    /// Directory to scan.
    dir: PathBuf,
    #[command(flatten)]
    analysis: AnalysisArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Also write the full report (see `patmine report`) into this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    report_settings: ReportSettings,
}

/// The command line, with `--version` naming the parser and grammar versions counts depend on.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().long_version(patmine::versions::long_version())
}

/// Parses the process's arguments (exits with clap's message on a bad one).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let db = || database_path(cli.db.clone());
    match cli.command {
        Command::Scan(args) => run_scan(&db()?, cli.quiet, args),
        Command::History(args) => run_history(&db()?, cli.quiet, args),
        Command::At(args) => run_at(&db()?, cli.quiet, args),
        Command::Report(args) => run_report(&db()?, args),
        Command::Compare(args) => run_compare(&db()?, cli.quiet, args),
        Command::Explain(args) => run_explain(args),
        Command::Migrations(args) => run_migrations(&db()?, args),
        Command::Check(args) => run_check(args),
        Command::Floor(args) => run_floor(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "patmine", &mut script);
            emit(&String::from_utf8_lossy(&script))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command())
                .render(&mut page)
                .context("rendering the man page")?;
            emit(&String::from_utf8_lossy(&page))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The most rows a `--top` asks for: far above any repository's patterns, far below what would
/// overflow the queries' `LIMIT`.
const MAX_ROWS: u64 = 1_000_000_000;

/// A count flag's parser: an integer in `range`, so that a value out of it is refused with the
/// flag's name (exit 2) rather than overflowing a query or an allocation later.
fn count_in(range: std::ops::RangeInclusive<u64>) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(range)
}

/// A similarity in percent, 0 to 100.
fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not in 0..=100"))
    }
}

/// The database a command uses: `--db` or `$PATMINE_DB`, else the per-user default, whose
/// directory is made on first use.
fn database_path(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let data = absolute("XDG_DATA_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local/share")))
        .context("no --db given, and neither $XDG_DATA_HOME nor $HOME names a directory for the default database")?;
    let dir = data.join("patmine");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create the database's directory", dir.display()))?;
    Ok(dir.join("patmine.duckdb"))
}

/// The database of a command that answers from it (`at`, `compare`, `report`, `migrations`):
/// a path that holds none is an error, not a new empty database left behind.
fn open_existing(db: &Path) -> Result<Store> {
    if !db.is_file() {
        anyhow::bail!(
            "{}: no database there (`patmine history` or `patmine scan` makes one)",
            db.display()
        );
    }
    // A database this process may not write is read as it is: the file, or the folder where
    // DuckDB would write its log, is read-only. By mode bits, not only by access: a 0444 file
    // is read-only to its owner's intent even where the process (root) could write it.
    let unlocked = |path: &Path| std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly());
    let writable = unlocked(db)
        && std::fs::OpenOptions::new().append(true).open(db).is_ok()
        && db
            .parent()
            .map(|dir| {
                if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                }
            })
            .is_some_and(unlocked);
    if writable {
        Ok(Store::open(db)?)
    } else {
        Ok(Store::open_read_only(db)?)
    }
}

fn set_jobs(jobs: Option<usize>) -> Result<()> {
    if let Some(jobs) = jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .context("setting up worker threads")?;
    }
    Ok(())
}

/// The analyzer, the filter and the store of a run that writes. The database opens on another
/// thread while the analyzer is built (query files are compiled then): neither needs the other.
/// An analyzer error is reported before a database error.
fn build_and_open(
    db: &Path,
    analysis: &AnalysisArgs,
    filter: &FilterArgs,
) -> Result<(Analyzer, Filter, Store)> {
    std::thread::scope(|scope| {
        let opening = scope.spawn(|| Store::open(db));
        let built = build_analyzer_and_filter(analysis, filter);
        let store = opening
            .join()
            .map_err(|_| anyhow::anyhow!("opening the database panicked"));
        let (analyzer, filter) = built?;
        Ok((analyzer, filter, store??))
    })
}

fn build_analyzer_and_filter(
    analysis: &AnalysisArgs,
    filter: &FilterArgs,
) -> Result<(Analyzer, Filter)> {
    Ok((build_analyzer(analysis)?, build_filter(filter)?))
}

fn build_analyzer(args: &AnalysisArgs) -> Result<Analyzer> {
    set_jobs(args.jobs)?;
    let rules = match &args.rules {
        Some(path) => Rulebook::load(path)?,
        None => Rulebook::builtin(),
    };
    let queries = match &args.queries {
        Some(dir) => QuerySet::load_dir(dir)?,
        None => QuerySet::builtin()?,
    };
    let options = NormalizeOptions {
        max_elements: args.max_elements.max(1),
        max_len: args.max_len.max(16),
    };
    Ok(
        Analyzer::new(queries, rules, options, args.fallback_threshold)
            .with_parse_budget(Some(std::time::Duration::from_secs_f64(args.parse_budget))),
    )
}

/// Memory a parse takes per byte of source: scanning one 20 MiB file peaked at 2.3 GB, one
/// 5 MiB file at 0.62 GB (docs/limits.md).
const PARSE_MEMORY_PER_BYTE: u64 = 110;

fn build_filter(args: &FilterArgs) -> Result<Filter> {
    let default_max = FilterOptions::default().max_bytes;
    if args.max_bytes > default_max {
        let memory = args.max_bytes.saturating_mul(PARSE_MEMORY_PER_BYTE) as f64;
        report_line(format!(
            "--max-bytes {}: parsing a file that large takes up to {:.1} GiB of memory ({PARSE_MEMORY_PER_BYTE}x its size) on each worker parsing one; use fewer --jobs if memory is short, and a larger --parse-budget for files of tens of MiB",
            args.max_bytes,
            memory / f64::from(1u32 << 30)
        ));
    }
    Ok(Filter::new(FilterOptions {
        max_bytes: args.max_bytes,
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        skip_vendored: !args.keep_vendored,
        ..FilterOptions::default()
    })?)
}

/// Writes to stdout; a closed pipe (`patmine … | head`) ends the output quietly.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn report_line(line: String) {
    eprintln!("patmine: {line}");
}

fn run_scan(db: &Path, quiet: bool, args: ScanArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    if !args.dir.is_dir() {
        anyhow::bail!("{}: not a directory", args.dir.display());
    }
    // A database that does not exist yet has nothing cached: the scan starts without waiting for
    // it to open (see `StoreSource`).
    let new_database = !db.exists();
    let opening = {
        let db = db.to_path_buf();
        std::thread::spawn(move || Store::open(&db))
    };
    // The directory walk needs neither the analyzer nor the database: it runs meanwhile.
    let built = std::thread::scope(|scope| {
        let discovery = scope.spawn(|| {
            // Each line names a directory or entry that could not be read: the exit says so.
            let mut unreadable = 0usize;
            let mut report = |line| {
                unreadable += 1;
                report_line(line)
            };
            let candidates = scan::discover(&args.dir, &mut report);
            (candidates, unreadable)
        });
        let built = build_analyzer_and_filter(&args.analysis, &args.filter);
        let candidates = discovery
            .join()
            .map_err(|_| anyhow::anyhow!("the directory walk panicked"));
        built.and_then(|(analyzer, filter)| Ok((analyzer, filter, candidates?)))
    });
    let (analyzer, filter, (candidates, unreadable)) = match built {
        Ok(built) => built,
        Err(e) => {
            // The opening finishes first: a database file is not left half created.
            let _ = opening.join();
            return Err(e);
        }
    };
    let source = StoreSource::New(opening);
    let source = if new_database {
        source
    } else {
        StoreSource::Open(source.into_store()?)
    };
    let progress = Progress::new(quiet || args.output.json);
    let mut report = report_line;
    let job = scan::ScanJob {
        root: &args.dir,
        candidates: &candidates,
        analyzer: &analyzer,
        filter: &filter,
        ranking: Some((args.output.level, args.output.top)),
    };
    let (mut summary, store) = scan::scan(job, source, &progress, &mut report)?;
    // The figure users see covers the directory walk and the database's opening too.
    summary.seconds = started.elapsed().as_secs_f64();
    let rows = match summary.top.take() {
        Some(rows) => rows,
        None => phrasebook::top_patterns(
            &store,
            Snapshot::Scan(summary.scan_id),
            analyzer.fingerprint(),
            args.output.level,
            args.output.top,
        )?,
    };
    let title = format!("Phrasebook of {}", args.dir.display());
    print_result(
        &args.output,
        &title,
        &summary.line(&args.dir),
        summary.to_json(),
        &rows,
    )?;
    if let Some(dir) = &args.report {
        let options = ReportOptions {
            scan_id: Some(summary.scan_id),
            ..args.report_settings.options(None)
        };
        patmine::report::write(&store, &options, &TrackerSet::empty(), dir)?;
    }
    Ok(if summary.failed > 0 || unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the summary and ranked patterns (table or JSON) and writes the phrasebook files.
fn print_result(
    output: &OutputArgs,
    title: &str,
    summary: &str,
    summary_json: serde_json::Value,
    rows: &[PatternRow],
) -> Result<()> {
    if output.json {
        let doc = json!({ "summary": summary_json, "level": output.level, "patterns": rows });
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else {
        emit(&format!(
            "{summary}\n\n{}",
            phrasebook::render_table(rows, output.level)
        ))?;
    }
    if let Some(dir) = &output.report_dir {
        phrasebook::write_files(dir, title, summary_json, rows, output.level)?;
    }
    Ok(())
}

/// Patterns listed each way (rose, fell) after a `history` run (`compare` lists more).
const RANGE_ROWS: usize = 10;

/// `text` as one shell word: quoted unless it is plainly safe.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn run_history(db: &Path, quiet: bool, args: HistoryArgs) -> Result<ExitCode> {
    let since = args
        .since
        .as_deref()
        .map(patmine::git::parse_date)
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(patmine::git::parse_date)
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && until < since
    {
        anyhow::bail!(
            "--until {} is before --since {}: no commit can be in that window",
            args.until.as_deref().unwrap_or_default(),
            args.since.as_deref().unwrap_or_default()
        );
    }
    // Before the database opens: a bad trackers file leaves it untouched.
    let trackers = if args.no_trackers {
        TrackerSet::empty()
    } else {
        args.trackers.load()?
    };
    let (analyzer, filter, mut store) = build_and_open(db, &args.analysis, &args.filter)?;
    let progress = Progress::new(quiet || args.output.json);
    let options = HistoryOptions {
        rev: args.rev.clone(),
        since,
        until,
        batch: args.batch,
    };
    let mut report = report_line;
    let counting = history::Counting {
        analyzer: &analyzer,
        trackers: &trackers,
        filter: &filter,
    };
    let summary = history::run(
        &args.repo,
        counting,
        &mut store,
        &options,
        &progress,
        &mut report,
    )?;
    store.query_threads()?;
    let rows = match store.last_commit(summary.repo_id)? {
        Some(last) => phrasebook::top_patterns(
            &store,
            Snapshot::Commit {
                repo_id: summary.repo_id,
                seq: last.seq,
            },
            analyzer.fingerprint(),
            args.output.level,
            args.output.top,
        )?,
        None => Vec::new(),
    };
    let title = format!(
        "Phrasebook of {} at {}",
        args.repo.display(),
        summary.tip.as_deref().unwrap_or("no commit")
    );
    if let Some(dir) = &args.report {
        patmine::report::write(
            &store,
            &args.report_settings.options(Some(summary.repo_id)),
            &trackers,
            dir,
        )?;
    }
    let line = format!("{}; database {}", summary.line(&args.repo), db.display());
    if args.output.json {
        print_result(&args.output, &title, &line, summary.to_json(), &rows)?;
    } else {
        // The text answers over the range; the phrasebook is `at`'s.
        let range = patmine::report::range::render(
            &store,
            summary.repo_id,
            analyzer.fingerprint(),
            &trackers,
            args.output.level,
            RANGE_ROWS,
        )?;
        let report = args
            .report
            .as_ref()
            .map(|dir| format!("; report {}", dir.join("index.html").display()))
            .unwrap_or_default();
        let repo_flag = if store.repos()?.len() > 1 {
            format!(" --repo {}", shell_word(&args.repo.display().to_string()))
        } else {
            String::new()
        };
        emit(&format!(
            "{line}\n\n{range}\ndatabase {}{report}\nthe phrasebook at the newest commit: patmine --db {} at{repo_flag}\n",
            db.display(),
            shell_word(&db.display().to_string())
        ))?;
        if let Some(dir) = &args.output.report_dir {
            phrasebook::write_files(dir, &title, summary.to_json(), &rows, args.output.level)?;
        }
    }
    Ok(if summary.incomplete() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_at(db: &Path, quiet: bool, args: AtArgs) -> Result<ExitCode> {
    // Only the JSON output holds tracker counts.
    let trackers = if args.output.json {
        args.trackers.load()?
    } else {
        TrackerSet::empty()
    };
    let mut store = open_existing(db)?;
    store.query_threads()?;
    let repo = pick_repo(&store, db, args.repo.as_deref())?;
    let found = resolve_or_last(&store, &repo, args.rev.as_deref())?;
    let build = || {
        let (analyzer, filter) = build_analyzer_and_filter(&args.analysis, &args.filter)?;
        Ok((analyzer, filter, args.trackers.load()?))
    };
    let mut locator = Locator::new(&repo, &build);
    let progress = Progress::new(quiet || args.output.json);
    let (snapshot, analysed) =
        locator.snapshot(&mut store, &found, &progress, &|line| report_line(line))?;
    if let Some(tree) = &analysed
        && !quiet
    {
        say_tree(&found, tree);
    }
    locator.finish(&mut store, &progress, &|line| report_line(line))?;
    let unanalysed = store.unanalysed_files(snapshot)?;
    if !unanalysed.is_empty() {
        report_line(unanalysed_line(&found.label, &unanalysed));
    }
    let incomplete = analysed.is_some_and(|tree| tree.failed > 0) || !unanalysed.is_empty();
    let RepoRow {
        repo_id,
        ref name,
        ref config,
        ..
    } = repo;
    let commit = &found.id;
    let rows =
        phrasebook::top_patterns(&store, snapshot, config, args.output.level, args.output.top)?;
    let metrics = store.snapshot_metrics(snapshot)?;
    if args.output.json {
        let metrics: serde_json::Map<String, serde_json::Value> =
            metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let history = patmine::migrations::History::load(&store, repo_id, config)?;
        let (counts, not_evaluated) = match snapshot {
            Snapshot::Commit { seq, .. } => history.tracker_counts(&trackers, seq)?,
            Snapshot::Scan(scan_id) => history.tracker_counts_in_tree(&trackers, scan_id)?,
        };
        for gap in not_evaluated {
            report_line(gap.to_string());
        }
        let trackers: serde_json::Map<String, serde_json::Value> = counts
            .into_iter()
            .map(|t| {
                (
                    t.name,
                    json!({ "occurrences": t.occurrences, "files": t.files }),
                )
            })
            .collect();
        let doc = json!({
            "repo": name,
            "commit": commit,
            "seq": found.seq,
            "level": args.output.level,
            "metrics": metrics,
            "trackers": trackers,
            "patterns": rows,
            "unanalysed_files": unanalysed.iter().map(|f| json!({
                "path": f.path, "blob": f.blob, "status": f.status.stored(),
            })).collect::<Vec<_>>(),
        });
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else {
        let place = match found.seq {
            Some(seq) => format!("commit #{seq}"),
            None => "off the analysed chain".to_string(),
        };
        emit(&format!("{name} at {commit} ({place})\n"))?;
        let line: Vec<String> = metrics.iter().map(|(k, v)| format!("{k}={v}")).collect();
        emit(&format!("{}\n\n", line.join(" ")))?;
        emit(&phrasebook::render_table(&rows, args.output.level))?;
    }
    if let Some(dir) = &args.output.report_dir {
        let summary = json!({ "repo": name, "commit": commit, "seq": found.seq });
        phrasebook::write_files(
            dir,
            &format!("Phrasebook of {name} at {commit}"),
            summary,
            &rows,
            args.output.level,
        )?;
    }
    // A blob of the tree that could not be analysed was said, and counted as empty.
    Ok(if incomplete {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One line on stderr for counts that leave out files whose blobs could not be analysed.
fn unanalysed_line(label: &str, files: &[patmine::store::UnanalysedFile]) -> String {
    let named: Vec<String> = files
        .iter()
        .take(3)
        .map(|f| format!("{} (blob {}: {})", f.path, f.blob, f.status.stored()))
        .collect();
    let more = if files.len() > named.len() {
        format!(" and {} more", files.len() - named.len())
    } else {
        String::new()
    };
    format!(
        "counts at {label} are incomplete: {} file{} count as empty because their blobs could not be analysed: {}{more}; repair the repository and run `patmine history` again",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        named.join(", ")
    )
}

/// One line on stderr for a tree analysed now, off the chain.
fn say_tree(found: &Resolved, tree: &TreeSummary) {
    report_line(format!(
        "{} is off the analysed chain: analysed its tree ({} files, {} parsed, the rest from the cache) and kept it",
        found.label, tree.files, tree.parsed
    ));
}

fn run_explain(args: ExplainArgs) -> Result<ExitCode> {
    let analyzer = build_analyzer(&args.analysis)?;
    let path = args.file.to_string_lossy();
    let dialect = Dialect::from_path(path.as_bytes()).with_context(|| {
        format!(
            "{}: not a .js/.mjs/.cjs/.jsx/.ts/.tsx file",
            args.file.display()
        )
    })?;
    let source = std::fs::read(&args.file)
        .with_context(|| format!("{}: cannot read", args.file.display()))?;
    let (grammar, occurrences) = analyzer.explain(&source, dialect)?;
    let mut text = format!(
        "{} ({dialect}, parsed with {grammar})\n",
        args.file.display()
    );
    for occ in occurrences {
        let sig = &occ.signature;
        text.push_str(&format!(
            "{:>5}  {:<12} {}\n",
            occ.line, occ.kind, sig.abstract_text
        ));
        if sig.semantic_text != sig.abstract_text {
            text.push_str(&format!(
                "{:>5}  {:<12} {}\n",
                "", "  semantic", sig.semantic_text
            ));
        }
    }
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn run_floor(args: FloorArgs) -> Result<ExitCode> {
    set_jobs(args.jobs)?;
    let filter = build_filter(&args.filter)?;
    let result = if args.git {
        patmine::floor::history(&args.path, "HEAD", &filter)?
    } else {
        patmine::floor::files(&args.path, &filter)?
    };
    emit(&format!("{}\n", serde_json::to_string(&result)?))?;
    Ok(ExitCode::SUCCESS)
}

/// The repository row `--repo` names, or the only one.
fn pick_repo(store: &Store, db: &Path, repo: Option<&Path>) -> Result<RepoRow> {
    let repos = store.repos()?;
    match repo {
        Some(path) => {
            let identity = patmine::git::Repo::open(path)?.identity();
            repos
                .into_iter()
                .rev()
                .find(|r| r.identity == identity)
                .with_context(|| {
                    format!(
                        "{}: this repository has not been analysed into {}",
                        path.display(),
                        db.display()
                    )
                })
        }
        None => match repos.len() {
            0 => anyhow::bail!(
                "{}: no history analysed yet (run `patmine history` first)",
                db.display()
            ),
            1 => Ok(repos.into_iter().next().expect("one")),
            n => {
                // The shared default database holds many: the one being worked in is meant.
                let here = patmine::git::Repo::discover(Path::new("."))
                    .ok()
                    .map(|r| r.identity());
                match here.and_then(|id| repos.into_iter().rev().find(|r| r.identity == id)) {
                    Some(found) => Ok(found),
                    None => anyhow::bail!(
                        "{}: holds {n} repositories and the current directory is in none of them; name one with --repo",
                        db.display()
                    ),
                }
            }
        },
    }
}

fn run_report(db: &Path, args: ReportArgs) -> Result<ExitCode> {
    let trackers = args.trackers.load()?;
    let store = open_existing(db)?;
    store.query_threads()?;
    let repo_id = match &args.repo {
        Some(path) => Some(pick_repo(&store, db, Some(path))?.repo_id),
        None => None,
    };
    let started = std::time::Instant::now();
    let report = patmine::report::write(
        &store,
        &args.settings.options(repo_id),
        &trackers,
        &args.out,
    )?;
    emit(&format!(
        "wrote {}/index.html, report.json, report.md and {} charts ({} patterns, {} clusters of {} signatures, clustered in {:.3}s) in {:.2}s\n",
        args.out.display(),
        report.charts.len(),
        report.patterns.len(),
        report.clusters.len(),
        report.clustered,
        report.clustering_seconds,
        started.elapsed().as_secs_f64()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The commit `rev` names (see `patmine::revision`), or the newest analysed one.
fn resolve_or_last(store: &Store, repo: &RepoRow, rev: Option<&str>) -> Result<Resolved> {
    match rev {
        Some(rev) => patmine::revision::resolve(store, repo, rev),
        None => {
            let last = store
                .last_commit(repo.repo_id)?
                .with_context(|| format!("{}: no analysed commits", repo.name))?;
            Ok(Resolved {
                seq: Some(last.seq),
                label: last.id[..last.id.len().min(10)].to_string(),
                id: last.id,
            })
        }
    }
}

/// Largest changes of a comparison whose commits are named.
const ATTRIBUTED_ROWS: usize = 10;

fn run_compare(db: &Path, quiet: bool, args: CompareArgs) -> Result<ExitCode> {
    use patmine::report::compare::{Comparison, compare_snapshots};
    let mut store = open_existing(db)?;
    store.query_threads()?;
    let repo = pick_repo(&store, db, args.repo.as_deref())?;
    let pairs: Vec<(Resolved, Resolved)> = if args.releases {
        let chosen = choose_releases(&store, &repo, &args)?;
        chosen
            .windows(2)
            .map(|w| (w[0].clone(), w[1].clone()))
            .collect()
    } else {
        let a = args
            .a
            .as_deref()
            .context("name the older snapshot (a tag, commit or date), or use --releases")?;
        let a = patmine::revision::resolve(&store, &repo, a)?;
        let b = resolve_or_last(&store, &repo, args.b.as_deref())?;
        vec![(a, b)]
    };
    // Trees off the chain are analysed (once) before anything is compared.
    let build = || {
        let (analyzer, filter) = build_analyzer_and_filter(&args.analysis, &args.filter)?;
        Ok((analyzer, filter, args.trackers.load()?))
    };
    let mut locator = Locator::new(&repo, &build);
    let progress = Progress::new(quiet || args.json);
    let mut snapshots: HashMap<String, Snapshot> = HashMap::new();
    // With --releases, a release whose tree cannot be analysed is left out, the reason said
    // once for all the releases it stops; the others are compared.
    let mut left_out: Vec<(String, Vec<String>)> = Vec::new();
    let mut incomplete = false;
    for found in pairs.iter().flat_map(|(a, b)| [a, b]) {
        if snapshots.contains_key(&found.id)
            || left_out.iter().any(|(_, l)| l.contains(&found.label))
        {
            continue;
        }
        let (snapshot, analysed) =
            match locator.snapshot(&mut store, found, &progress, &|line| report_line(line)) {
                Ok(located) => located,
                Err(e) if args.releases => {
                    let reason = e.chain().skip(1).map(|c| c.to_string()).collect::<Vec<_>>();
                    let reason = reason.join(": ");
                    match left_out.iter_mut().find(|(r, _)| *r == reason) {
                        Some((_, labels)) => labels.push(found.label.clone()),
                        None => left_out.push((reason, vec![found.label.clone()])),
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
        if let Some(tree) = &analysed
            && !quiet
        {
            say_tree(found, tree);
        }
        incomplete |= analysed.is_some_and(|tree| tree.failed > 0);
        snapshots.insert(found.id.clone(), snapshot);
    }
    locator.finish(&mut store, &progress, &|line| report_line(line))?;
    for (reason, labels) in &left_out {
        let shown: Vec<&str> = labels.iter().take(5).map(String::as_str).collect();
        let more = labels.len() - shown.len();
        report_line(format!(
            "{} release{} off the analysed chain left out ({}{}): {reason}",
            labels.len(),
            if labels.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let pairs: Vec<(Resolved, Resolved)> = if left_out.is_empty() {
        pairs
    } else {
        // The releases left, each compared with the one before it.
        let kept: Vec<Resolved> = pairs
            .iter()
            .map(|(a, _)| a)
            .chain(pairs.last().map(|(_, b)| b))
            .filter(|r| snapshots.contains_key(&r.id))
            .cloned()
            .collect();
        kept.windows(2)
            .map(|w| (w[0].clone(), w[1].clone()))
            .collect()
    };
    let snapshot_pairs: Vec<(Snapshot, Snapshot)> = pairs
        .iter()
        .map(|(a, b)| (snapshots[&a.id], snapshots[&b.id]))
        .collect();
    let compared = compare_snapshots(&store, &snapshot_pairs, args.level, &repo.config)?;
    let top = args.top.unwrap_or(25);
    // Between two commits of the chain, the commits that made the largest changes; not for
    // the one-line-per-release listing, which shows no change.
    let attributed = args.json || !args.releases || args.top.is_some();
    let commits = if attributed {
        store.commits(repo.repo_id)?
    } else {
        Vec::new()
    };
    let by_seq: HashMap<i64, &patmine::store::CommitMeta> =
        commits.iter().map(|c| (c.seq, c)).collect();
    let mut comparisons = Vec::with_capacity(pairs.len());
    for ((from, to), deltas) in pairs.into_iter().zip(compared) {
        let moved_by = match (from.seq, to.seq) {
            (Some(a), Some(b)) if attributed && a < b => patmine::report::compare::attribute(
                &store,
                repo.repo_id,
                args.level,
                (a, b),
                &deltas,
                ATTRIBUTED_ROWS.min(top),
                &by_seq,
            )?,
            _ => Vec::new(),
        };
        comparisons.push(Comparison {
            repo: repo.name.clone(),
            from: from.label,
            to: to.label,
            deltas,
            moved_by,
        });
    }
    let comparisons = comparisons.into_iter();
    if args.json {
        let docs: Vec<serde_json::Value> = comparisons.map(|c| c.to_json(top)).collect();
        emit(&format!("{}\n", serde_json::to_string_pretty(&docs)?))?;
    } else if args.releases && args.top.is_none() {
        // A line per release: the tables of hundreds of pairs would bury the headline.
        let text: String = comparisons
            .map(|c| match args.markdown {
                true => format!("- {}\n", phrasebook::md_text(&c.header())),
                false => format!("{}\n", c.header()),
            })
            .collect();
        emit(&text)?;
    } else {
        let text: String = comparisons.map(|c| c.render(top, args.markdown)).collect();
        emit(&text)?;
    }
    // As for a blob that could not be analysed: what could be is answered, and the exit says
    // something was left out.
    Ok(if left_out.is_empty() && !incomplete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The releases `compare --releases` compares, in release order, as resolved revisions.
fn choose_releases(store: &Store, repo: &RepoRow, args: &CompareArgs) -> Result<Vec<Resolved>> {
    let commits = store.commits(repo.repo_id)?;
    let on_chain: HashMap<&str, (i64, i64)> = commits
        .iter()
        .map(|c| (c.id.as_str(), (c.seq, c.time)))
        .collect();
    let kept: HashMap<String, i64> = store
        .off_chain_tags(repo.repo_id)?
        .into_iter()
        .filter_map(|(name, tree)| Some((name, tree?.committer_time)))
        .collect();
    let git = patmine::git::Repo::open(Path::new(&repo.identity)).ok();
    let mut tags = Vec::new();
    for (name, id) in store.all_tags(repo.repo_id)? {
        let chain = on_chain.get(id.as_str()).copied();
        let seq = chain.map(|(seq, _)| seq);
        let time = match chain {
            Some((_, time)) => time,
            None => kept.get(&name).copied().unwrap_or_else(|| {
                git.as_ref()
                    .and_then(|g| g.commit_time(&id).ok())
                    .unwrap_or(i64::MAX)
            }),
        };
        tags.push(Release {
            name,
            at: (id, seq),
            order: (time, seq.unwrap_or(i64::MAX)),
        });
    }
    let order = |t: &Release<(String, Option<i64>)>| t.order;
    let chosen = patmine::releases::choose(&tags, &args.tags, args.pre, order);
    if chosen.len() < 2 {
        let with_pre = patmine::releases::choose(&tags, &args.tags, true, order).len();
        anyhow::bail!(
            "{}: {} of {} tags chosen{}; --releases needs two",
            repo.name,
            chosen.len(),
            tags.len(),
            if with_pre > chosen.len() {
                " (pre-releases left out; --pre takes them)"
            } else {
                ""
            }
        );
    }
    Ok(chosen
        .into_iter()
        .map(|t| Resolved {
            seq: t.at.1,
            id: t.at.0.clone(),
            label: t.name.clone(),
        })
        .collect())
}

fn run_migrations(db: &Path, args: MigrationsArgs) -> Result<ExitCode> {
    use patmine::migrations::{History, Stamp};
    use patmine::report::migrations as render;
    // Discovery names no tracker, so a broken trackers file does not stand in its way.
    let trackers = if args.discover {
        TrackerSet::empty()
    } else {
        args.trackers.load()?
    };
    if let Some(name) = &args.name
        && trackers.migration(name).is_none()
    {
        let names: Vec<&str> = trackers
            .migrations
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        anyhow::bail!(
            "no migration named `{name}`; there are: {}",
            names.join(", ")
        );
    }
    let store = open_existing(db)?;
    store.query_threads()?;
    let repo = pick_repo(&store, db, args.repo.as_deref())?;
    // A migration's story (its releases, commits and authors) is the chain's.
    let (seq, commit) = match args.at.as_deref() {
        Some(rev) => {
            let (seq, found) = patmine::revision::resolve_on_chain(&store, &repo, rev)?;
            (seq, found.id)
        }
        None => {
            let last = store
                .last_commit(repo.repo_id)?
                .with_context(|| format!("{}: no analysed commits", repo.name))?;
            (last.seq, last.id)
        }
    };
    let RepoRow {
        repo_id,
        name: repo_name,
        config,
        ..
    } = repo;
    let history = History::load(&store, repo_id, &config)?;
    let at = Stamp {
        commit: commit.clone(),
        seq,
        date: history
            .commits
            .get(seq as usize)
            .map(|c| patmine::migrations::date(c.time))
            .unwrap_or_default(),
    };
    if args.discover {
        let mut found =
            patmine::discovery::discover(&store, repo_id, &config, &history.commits, seq)?;
        found.truncate(args.top);
        if args.json {
            let doc = json!({ "repo": repo_name, "at": at, "discovered": found });
            emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        } else if args.markdown {
            let title = format!(
                "Migrations found in {repo_name} up to {} ({})",
                &commit[..10.min(commit.len())],
                at.date
            );
            emit(&render::render_discovered_markdown(&title, &found))?;
        } else {
            emit(&render::render_discovered(&found))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    match &args.name {
        None => {
            let rows = history.summaries(&trackers, seq)?;
            if args.json {
                let doc = json!({ "repo": repo_name, "at": at, "migrations": rows });
                emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
            } else if args.markdown {
                let title = format!(
                    "Migrations of {repo_name} at {} ({})",
                    &commit[..10.min(commit.len())],
                    at.date
                );
                emit(&render::render_table_markdown(&title, &rows))?;
            } else {
                emit(&format!(
                    "{repo_name} at {} ({})\n\n",
                    &commit[..10.min(commit.len())],
                    at.date
                ))?;
                emit(&render::render_table(&rows))?;
            }
        }
        Some(name) => {
            let detail = history.detail(&trackers, name, seq)?;
            if args.json {
                let doc = json!({ "repo": repo_name, "at": at, "migration": detail });
                emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
            } else if args.markdown {
                emit(&render::render_detail_markdown(&detail, &at))?;
            } else {
                emit(&render::render_detail(&detail, &at))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_check(args: CheckArgs) -> Result<ExitCode> {
    use patmine::check::{self, Side};
    let repo = patmine::git::Repo::discover(&args.path)?;
    // Paths on both sides are relative to the top of the working tree, wherever PATH is in it.
    let top = repo.work_dir().unwrap_or(&args.path).to_path_buf();
    let trackers = args.trackers.load_in(&top)?;
    let (analyzer, filter) = build_analyzer_and_filter(&args.analysis, &args.filter)?;
    let baseline_commit = check::resolve_commit(&repo, &args.baseline)?;
    let baseline = Side::Commit {
        repo: &repo,
        commit: baseline_commit.clone(),
    };
    let current = match &args.rev {
        Some(rev) => Side::Commit {
            repo: &repo,
            commit: check::resolve_commit(&repo, rev)?,
        },
        None => Side::Dir(&top),
    };
    let report = |line: String| report_line(line);
    let results = check::check(
        &trackers,
        &args.migrations,
        &analyzer,
        &filter,
        &baseline,
        &current,
        &report,
    )?;
    let against = format!("{} ({})", args.baseline, &baseline_commit[..10]);
    let mut out = String::new();
    let grew: Vec<&str> = results
        .iter()
        .filter(|r| r.grew())
        .map(|r| r.name.as_str())
        .collect();
    for r in results.iter().filter(|r| r.grew()) {
        out.push_str(&format!(
            "{}: `from` sites {} -> {} (+{}) against {against}\n",
            r.name,
            r.baseline,
            r.current,
            r.current - r.baseline
        ));
        for (path, site) in &r.new_sites {
            out.push_str(&format!("{path}:{}: {}\n", site.line, site.code));
        }
    }
    if grew.is_empty() {
        out.push_str(&format!(
            "patmine check: no migration's `from` sites grew against {against} ({} checked)\n",
            results.len()
        ));
    } else {
        out.push_str(&format!(
            "patmine check: {} of {} migrations grew their `from` sites: {}\n",
            grew.len(),
            results.len(),
            grew.join(", ")
        ));
    }
    emit(&out)?;
    Ok(if grew.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
