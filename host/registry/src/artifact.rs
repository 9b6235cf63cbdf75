//! The CNCF Wasm OCI artifact layout (`tag-runtime` "Wasm OCI Artifact" specification, as `wkg oci
//! push` and `oras` write it): an image manifest whose config has media type
//! [`WASM_CONFIG_MEDIA_TYPE`] and whose one layer, of media type [`WASM_LAYER_MEDIA_TYPE`], is
//! the component's bytes.

use oci_client::manifest::{OciDescriptor, OciImageManifest};
use serde::Serialize;

/// Media type of the config blob of a Wasm artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";

/// Media type of the component layer of a Wasm artifact.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";

/// Config media types accepted on pull besides [`WASM_CONFIG_MEDIA_TYPE`]: artifacts pushed by
/// generic tools without a config (`oras push file.wasm:application/wasm`).
pub const GENERIC_CONFIG_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.oci.empty.v1+json",
    "application/vnd.unknown.config.v1+json",
];

/// The first 8 bytes of a WebAssembly component (magic, then version 0x0d and layer 1).
pub const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// The config blob Capsule writes (the specification's required and common fields).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// Always `wasm`.
    pub architecture: &'static str,
    /// `wasip2`: the component targets WASI 0.2.
    pub os: &'static str,
    /// The digests of the artifact's layers (one: the component).
    pub layer_digests: Vec<String>,
}

/// Why a manifest or blob is not a Wasm component artifact.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotAComponent {
    /// The manifest is an image index (several platforms), not one artifact.
    #[error("it is an image index, not a single Wasm artifact")]
    Index,
    /// The manifest's layers are not exactly one `application/wasm` layer.
    #[error(
        "its layers are [{0}], not one {WASM_LAYER_MEDIA_TYPE} layer (CNCF Wasm OCI artifact layout)"
    )]
    Layers(String),
    /// The config blob has another media type (a container image, say).
    #[error("its config has media type {0}, not {WASM_CONFIG_MEDIA_TYPE}")]
    Config(String),
    /// The manifest is not JSON of an OCI image manifest.
    #[error("its manifest does not parse: {0}")]
    Manifest(String),
    /// The layer holds a core module.
    #[error(
        "the layer is a core WebAssembly module, not a component (wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    /// The layer is not WebAssembly.
    #[error("the layer is not WebAssembly (it does not start with \\0asm)")]
    NotWasm,
}

/// The component layer of a manifest in the Wasm artifact layout.
///
/// # Errors
/// [`NotAComponent`] when the manifest is an index, or its config or layers are not the layout's.
pub fn component_layer(manifest: &[u8]) -> Result<OciDescriptor, NotAComponent> {
    let value: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| NotAComponent::Manifest(e.to_string()))?;
    if value.get("manifests").is_some() {
        return Err(NotAComponent::Index);
    }
    let parsed: OciImageManifest =
        serde_json::from_value(value).map_err(|e| NotAComponent::Manifest(e.to_string()))?;
    let config = parsed.config.media_type.as_str();
    if config != WASM_CONFIG_MEDIA_TYPE && !GENERIC_CONFIG_MEDIA_TYPES.contains(&config) {
        return Err(NotAComponent::Config(config.to_string()));
    }
    match parsed.layers.as_slice() {
        [layer] if layer.media_type == WASM_LAYER_MEDIA_TYPE => Ok(layer.clone()),
        layers => Err(NotAComponent::Layers(
            layers
                .iter()
                .map(|l| l.media_type.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Check that `bytes` start as a WebAssembly component does.
///
/// # Errors
/// [`NotAComponent::CoreModule`] or [`NotAComponent::NotWasm`].
pub fn check_component(bytes: &[u8]) -> Result<(), NotAComponent> {
    match bytes.get(..8) {
        Some(head) if head == COMPONENT_HEADER => Ok(()),
        Some(head) if head[..4] == COMPONENT_HEADER[..4] => Err(NotAComponent::CoreModule),
        _ => Err(NotAComponent::NotWasm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(config: &str, layers: &[&str]) -> Vec<u8> {
        let descriptor = |media: &str| json!({"mediaType": media, "digest": format!("sha256:{}", "a".repeat(64)), "size": 1});
        let layers: Vec<_> = layers.iter().map(|m| descriptor(m)).collect();
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptor(config),
            "layers": layers,
        }))
        .unwrap()
    }

    #[test]
    fn the_wasm_layout_and_generic_artifacts_are_accepted() {
        for config in [
            WASM_CONFIG_MEDIA_TYPE,
            GENERIC_CONFIG_MEDIA_TYPES[0],
            GENERIC_CONFIG_MEDIA_TYPES[1],
        ] {
            let layer = component_layer(&manifest(config, &[WASM_LAYER_MEDIA_TYPE])).unwrap();
            assert_eq!(layer.media_type, WASM_LAYER_MEDIA_TYPE);
        }
    }

    #[test]
    fn anything_else_is_refused_with_what_it_is() {
        let image = manifest(
            "application/vnd.oci.image.config.v1+json",
            &["application/vnd.oci.image.layer.v1.tar+gzip"],
        );
        assert!(matches!(
            component_layer(&image),
            Err(NotAComponent::Config(_))
        ));
        let two = manifest(
            WASM_CONFIG_MEDIA_TYPE,
            &[WASM_LAYER_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE],
        );
        assert!(matches!(
            component_layer(&two),
            Err(NotAComponent::Layers(_))
        ));
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(component_layer(index).unwrap_err(), NotAComponent::Index);
        assert!(matches!(
            component_layer(b"<html>"),
            Err(NotAComponent::Manifest(_))
        ));
    }

    #[test]
    fn components_are_told_from_modules_and_other_bytes() {
        assert!(check_component(&COMPONENT_HEADER).is_ok());
        assert_eq!(
            check_component(b"\0asm\x01\0\0\0"),
            Err(NotAComponent::CoreModule)
        );
        assert_eq!(check_component(b"MZ\x90\0"), Err(NotAComponent::NotWasm));
        assert_eq!(check_component(b""), Err(NotAComponent::NotWasm));
    }
}
