//! Progress bars on stderr, drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hands out progress bars, drawn together; hidden ones when stderr is not a terminal or
/// `--quiet` was given.
#[derive(Clone)]
pub struct Progress {
    visible: bool,
    bars: MultiProgress,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            visible: !quiet && std::io::stderr().is_terminal(),
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }

    /// A bar of `len` steps (its length can grow later), drawn below any earlier one.
    pub fn bar(&self, len: u64, unit: &str) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = self.bars.add(ProgressBar::new(len));
        let template = format!(
            "{{elapsed_precise}} {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, eta {{eta}}) {{msg}}"
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    }

    /// Runs `f` (which prints to stderr) with the bars cleared from the screen.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bars.suspend(f)
    }
}
