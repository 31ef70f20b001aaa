//! A stand-in for runwasi's `oci-tar-builder`, which
//! `containerd-shim-wasm` 1.0's `testing` feature uses to build the images
//! its OCI tests import with `ctr image import`: that feature calls
//! `Builder::add_config(config, name, media_type)`, an API of runwasi's
//! unreleased tree that no published version has, so the feature does not
//! build from crates.io. This crate has that API and nothing else.
//!
//! [`Builder::build`] writes an OCI image layout as a tar stream: the
//! `oci-layout` marker, every blob under `blobs/sha256/`, and
//! `index.json` pointing at one manifest per config, with the config's
//! platform and the image's name in the annotations containerd reads
//! (`io.containerd.image.name`, `org.opencontainers.image.ref.name`).

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Error, Result, bail};
use oci_spec::image::{
    Descriptor, DescriptorBuilder, Digest, ImageConfiguration, ImageIndexBuilder,
    ImageManifestBuilder, MediaType, PlatformBuilder, SCHEMA_VERSION,
};
use sha2::{Digest as _, Sha256};

/// The media type of a Wasm layer (a core module or a component) in
/// images built by Bytecode Alliance tooling.
pub const WASM_LAYER_MEDIA_TYPE: &str =
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";

/// Collects layers and a config, then writes the image.
pub struct Builder<C = ImageConfiguration> {
    configs: Vec<(C, String, MediaType)>,
    layers: Vec<(PathBuf, String)>,
}

impl Default for Builder<ImageConfiguration> {
    fn default() -> Self {
        Self {
            configs: Vec::new(),
            layers: Vec::new(),
        }
    }
}

/// A blob's digest as `sha256:<hex>`.
fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl Builder<ImageConfiguration> {
    /// The image's config, its name (`registry/repo:tag`) and the config
    /// blob's media type. One config per image.
    pub fn add_config(
        &mut self,
        config: ImageConfiguration,
        name: String,
        media_type: MediaType,
    ) -> &mut Self {
        self.configs.push((config, name, media_type));
        self
    }

    /// A layer read from `layer`, of the ordinary layer media type.
    pub fn add_layer(&mut self, layer: &PathBuf) -> &mut Self {
        self.add_layer_with_media_type(layer, String::new())
    }

    /// A layer read from `layer`, of `media_type` (empty: an ordinary
    /// tar layer), e.g. `application/wasm`.
    pub fn add_layer_with_media_type(&mut self, layer: &PathBuf, media_type: String) -> &mut Self {
        self.layers.push((layer.clone(), media_type));
        self
    }

    /// Writes the image layout to `w`.
    pub fn build<W: Write>(&mut self, w: W) -> Result<(), Error> {
        let [(config, name, config_type)] = self.configs.as_slice() else {
            bail!("an image needs exactly one config");
        };
        let mut tar = tar::Builder::new(w);
        let mut layers = Vec::new();
        for (path, media_type) in &self.layers {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading layer {}", path.display()))?;
            let media_type = match media_type.as_str() {
                "" => MediaType::ImageLayer,
                other => MediaType::Other(other.to_owned()),
            };
            layers.push(blob(&mut tar, media_type, &bytes)?);
        }
        let config_json = serde_json::to_vec(config)?;
        let config_desc = blob(&mut tar, config_type.clone(), &config_json)?;
        let mut annotations = HashMap::new();
        annotations.insert("io.containerd.image.name".to_owned(), name.clone());
        if let Some((_, tag)) = name.rsplit_once(':') {
            annotations.insert("org.opencontainers.image.ref.name".to_owned(), tag.to_owned());
        }
        let manifest = ImageManifestBuilder::default()
            .schema_version(SCHEMA_VERSION)
            .media_type(MediaType::ImageManifest)
            .config(config_desc)
            .layers(layers)
            .annotations(annotations.clone())
            .build()?;
        let manifest_json = serde_json::to_vec(&manifest)?;
        let mut manifest_desc = blob(&mut tar, MediaType::ImageManifest, &manifest_json)?;
        let platform = PlatformBuilder::default()
            .os(config.os().clone())
            .architecture(config.architecture().clone())
            .build()?;
        manifest_desc.set_platform(Some(platform));
        manifest_desc.set_annotations(Some(annotations));
        let index = ImageIndexBuilder::default()
            .schema_version(SCHEMA_VERSION)
            .media_type(MediaType::ImageIndex)
            .manifests(vec![manifest_desc])
            .build()?;
        file(&mut tar, "index.json", &serde_json::to_vec(&index)?)?;
        file(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        tar.finish()?;
        Ok(())
    }
}

/// Writes `bytes` as a blob; returns its descriptor.
fn blob<W: Write>(tar: &mut tar::Builder<W>, media_type: MediaType, bytes: &[u8]) -> Result<Descriptor> {
    let digest = sha256(bytes);
    let hex = digest.trim_start_matches("sha256:");
    file(tar, &format!("blobs/sha256/{hex}"), bytes)?;
    Ok(DescriptorBuilder::default()
        .media_type(media_type)
        .digest(Digest::try_from(digest.as_str())?)
        .size(bytes.len() as u64)
        .build()?)
}

fn file<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o444);
    header.set_size(bytes.len() as u64);
    tar.append_data(&mut header, path, bytes)
        .with_context(|| format!("writing {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::{Arch, ConfigBuilder, ImageConfigurationBuilder, Os, RootFsBuilder};

    #[test]
    fn writes_a_layout_with_one_manifest() {
        let dir = std::env::temp_dir().join(format!("oci-tar-builder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let layer = dir.join("m.wasm");
        std::fs::write(&layer, b"\0asm\x01\0\0\0").unwrap();
        let config = ImageConfigurationBuilder::default()
            .config(ConfigBuilder::default().entrypoint(vec!["_start".into()]).build().unwrap())
            .os(Os::Other("wasip1".into()))
            .architecture(Arch::Wasm)
            .rootfs(RootFsBuilder::default().diff_ids(vec![]).build().unwrap())
            .build()
            .unwrap();
        let mut out = Vec::new();
        let mut builder = Builder::default();
        builder
            .add_layer_with_media_type(&layer, "application/wasm".into())
            .add_config(config, "localhost/x:latest".into(), MediaType::ImageConfig);
        builder.build(&mut out).unwrap();
        let mut archive = tar::Archive::new(&out[..]);
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(names.len(), 5, "{names:?}"); // layer, config, manifest, index, oci-layout
        assert!(names.contains(&"index.json".to_string()));
        assert!(names.contains(&format!("blobs/{}", sha256(b"\0asm\x01\0\0\0").replace(':', "/"))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
