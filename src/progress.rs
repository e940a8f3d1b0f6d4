//! Progress bars on stderr, drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hands out progress bars; a hidden one when stderr is not a terminal or `--quiet` was given.
#[derive(Clone)]
pub struct Progress {
    visible: bool,
    current: std::sync::Arc<std::sync::Mutex<Option<ProgressBar>>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            visible: !quiet && std::io::stderr().is_terminal(),
            current: Default::default(),
        }
    }

    pub fn bar(&self, len: u64, unit: &str) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let template = format!(
            "{{elapsed_precise}} {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, eta {{eta}}) {{msg}}"
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
        bar
    }

    /// Runs `f` (which prints to stderr) with the current bar cleared from the screen.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match current {
            Some(bar) if !bar.is_finished() => bar.suspend(f),
            _ => f(),
        }
    }
}
