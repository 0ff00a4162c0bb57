//! What a pull shows while it works: one bar per layer on a terminal,
//! nothing otherwise.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use step_01_registry::manifest::Descriptor;

/// Hears about a pull's progress, layer by layer.
pub trait Progress: Sync {
    /// `index` is the layer's position in the manifest.
    fn downloaded(&self, index: usize, bytes: u64);
    fn cached(&self, index: usize);
    fn extracting(&self, index: usize);
    fn done(&self, index: usize);
}

/// Shows nothing (`-q`, tests, output that is not a terminal).
pub struct Silent;

impl Progress for Silent {
    fn downloaded(&self, _: usize, _: u64) {}
    fn cached(&self, _: usize) {}
    fn extracting(&self, _: usize) {}
    fn done(&self, _: usize) {}
}

/// One progress bar per layer, on stderr.
pub struct Bars {
    bars: Vec<ProgressBar>,
}

impl Bars {
    /// Bars for these layers, or `None` when stderr is not a terminal.
    pub fn for_layers(layers: &[Descriptor]) -> Option<Bars> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix} {bar:30.cyan/blue} {bytes:>10}/{total_bytes:<10} {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        let bars = layers
            .iter()
            .map(|layer| {
                let bar = multi.add(ProgressBar::new(layer.size));
                bar.set_style(style.clone());
                bar.set_prefix(layer.digest.as_str()[..19].to_string());
                bar.set_message("waiting");
                bar
            })
            .collect();
        Some(Bars { bars })
    }
}

impl Progress for Bars {
    fn downloaded(&self, index: usize, bytes: u64) {
        let bar = &self.bars[index];
        if bar.position() == 0 {
            bar.set_message("downloading");
        }
        bar.set_position(bytes);
    }

    fn cached(&self, index: usize) {
        let bar = &self.bars[index];
        bar.set_position(bar.length().unwrap_or(0));
        bar.set_message("cached");
    }

    fn extracting(&self, index: usize) {
        self.bars[index].set_message("extracting");
    }

    fn done(&self, index: usize) {
        self.bars[index].finish_with_message("done");
    }
}
