//! Source files, overlay merging and the origin of every merged value.
//!
//! A queue's settings come from up to four layers: the spec's `defaults`, the environment's
//! `defaults`, the queue in the spec and the queue in the environment. Mappings merge key by
//! key, anything else replaces, and `null` resets a key to its default. An `encryption` layer
//! with another `type` replaces the whole setting. Each merged node remembers the file and path
//! it came from, so an error names where the value was written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::{Mapping, Value};

use super::positions::{Position, PositionIndex, Segment, YamlPath};

/// One YAML file read from disk.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user gave it, for messages.
    pub display: String,
    pub text: String,
    pub positions: PositionIndex,
}

impl SourceFile {
    /// Wraps file text and indexes its positions.
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let positions = PositionIndex::build(&text);
        SourceFile {
            display: path.display().to_string(),
            text,
            positions,
        }
    }

    /// Returns where the node at `path` or its nearest ancestor starts.
    pub fn position(&self, path: &YamlPath, at_key: bool) -> Option<Position> {
        let mut current = Some(path.clone());
        while let Some(candidate) = current {
            let found = if at_key {
                self.positions.key(&candidate)
            } else {
                self.positions.value(&candidate)
            };
            if found.is_some() {
                return found;
            }
            current = candidate.parent();
        }
        None
    }
}

/// Where a merged node was written: a file (an index into the loaded files) and a path in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub file: usize,
    pub path: YamlPath,
}

/// A queue's merged settings and the origin of each node.
#[derive(Debug, Default)]
pub struct MergedQueue {
    pub value: Value,
    origins: BTreeMap<YamlPath, Origin>,
}

impl MergedQueue {
    /// Starts an empty queue whose root is attributed to `origin`.
    pub fn new(origin: Origin) -> MergedQueue {
        MergedQueue {
            value: Value::Mapping(Mapping::new()),
            origins: BTreeMap::from([(YamlPath::default(), origin)]),
        }
    }

    /// Merges one layer written at `origin` over the current value.
    pub fn apply_layer(&mut self, layer: &Value, origin: Origin) {
        let layer = normalize_shorthands(layer);
        merge(
            &mut self.value,
            &mut self.origins,
            &YamlPath::default(),
            &layer,
            &origin,
        );
    }

    /// Returns the origin of the node at `path` (relative to the queue): the nearest recorded
    /// ancestor's origin extended by the rest of the path.
    pub fn origin(&self, path: &YamlPath) -> Origin {
        let mut prefix_length = path.0.len();
        loop {
            let prefix = YamlPath(path.0[..prefix_length].to_vec());
            if let Some(origin) = self.origins.get(&prefix) {
                let rest = YamlPath(path.0[prefix_length..].to_vec());
                return Origin {
                    file: origin.file,
                    path: origin.path.join(&rest),
                };
            }
            if prefix_length == 0 {
                return Origin {
                    file: 0,
                    path: path.clone(),
                };
            }
            prefix_length -= 1;
        }
    }
}

/// Rewrites `encryption: sse-sqs` to `{type: sse-sqs}` and `dead_letter: false` to
/// `{enabled: false}`, so a shorthand in one layer merges with a mapping in another.
fn normalize_shorthands(layer: &Value) -> Value {
    let mut layer = layer.clone();
    if let Value::Mapping(mapping) = &mut layer {
        if let Some(value @ Value::String(_)) = mapping.get_mut("encryption") {
            let mut expanded = Mapping::new();
            expanded.insert(Value::from("type"), value.clone());
            *value = Value::Mapping(expanded);
        }
        if let Some(value @ Value::Bool(_)) = mapping.get_mut("dead_letter") {
            let mut expanded = Mapping::new();
            expanded.insert(Value::from("enabled"), value.clone());
            *value = Value::Mapping(expanded);
        }
    }
    layer
}

fn merge(
    target: &mut Value,
    origins: &mut BTreeMap<YamlPath, Origin>,
    at: &YamlPath,
    overlay: &Value,
    origin: &Origin,
) {
    let replace_whole = at.0.len() == 1
        && at
            .last_key()
            .is_some_and(|key| key == "encryption" && changes_type(target, overlay));
    match (target, overlay) {
        (Value::Mapping(target_map), Value::Mapping(overlay_map)) if !replace_whole => {
            for (key, value) in overlay_map {
                let key_text = key_text(key);
                let child_path = at.key(key_text.clone());
                let child_origin = Origin {
                    file: origin.file,
                    path: origin.path.key(key_text),
                };
                if value.is_null() {
                    target_map.remove(key);
                    forget_subtree(origins, &child_path);
                    continue;
                }
                match target_map.get_mut(key) {
                    Some(existing) => merge(existing, origins, &child_path, value, &child_origin),
                    None => {
                        target_map.insert(key.clone(), value.clone());
                        forget_subtree(origins, &child_path);
                        origins.insert(child_path, child_origin);
                    }
                }
            }
        }
        (target, overlay) => {
            *target = overlay.clone();
            forget_subtree(origins, at);
            origins.insert(at.clone(), origin.clone());
        }
    }
}

/// Checks whether an encryption layer picks another `type` than the one below it. Then the
/// whole setting is replaced, so `encryption: sse-sqs` on a queue drops a default KMS key
/// instead of conflicting with it.
fn changes_type(target: &Value, overlay: &Value) -> bool {
    let overlay_type = overlay.get("type");
    overlay_type.is_some() && overlay_type != target.get("type")
}

fn forget_subtree(origins: &mut BTreeMap<YamlPath, Origin>, root: &YamlPath) {
    origins.retain(|path, _| !path.0.starts_with(&root.0));
}

/// Returns a mapping key as text; YAML allows non-string keys, which the spec never uses.
pub fn key_text(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Converts a path from serde_path_to_error into a YAML path.
pub fn path_from_serde(path: &serde_path_to_error::Path) -> YamlPath {
    let segments = path
        .iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Segment::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect();
    YamlPath(segments)
}

/// Converts a path reported by serde_ignored into a YAML path.
pub fn path_from_ignored(path: &serde_ignored::Path) -> YamlPath {
    let mut segments = Vec::new();
    collect_ignored(path, &mut segments);
    YamlPath(segments)
}

fn collect_ignored(path: &serde_ignored::Path, segments: &mut Vec<Segment>) {
    match path {
        serde_ignored::Path::Root => {}
        serde_ignored::Path::Seq { parent, index } => {
            collect_ignored(parent, segments);
            segments.push(Segment::Index(*index));
        }
        serde_ignored::Path::Map { parent, key } => {
            collect_ignored(parent, segments);
            segments.push(Segment::Key(key.clone()));
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => collect_ignored(parent, segments),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    fn origin(file: usize, keys: &[&str]) -> Origin {
        Origin {
            file,
            path: YamlPath::keys(keys.iter().copied()),
        }
    }

    #[test]
    fn overlay_merges_mappings_and_tracks_origin() {
        let mut queue = MergedQueue::new(origin(0, &["queues", "a"]));
        queue.apply_layer(
            &yaml("retention: 4d\ndead_letter: {max_receive_count: 3}"),
            origin(0, &["defaults"]),
        );
        queue.apply_layer(
            &yaml("visibility_timeout: 5m\ndead_letter: {retention: 14d}"),
            origin(1, &["queues", "a"]),
        );

        assert_eq!(
            queue.value,
            yaml(
                "retention: 4d\ndead_letter: {max_receive_count: 3, retention: 14d}\nvisibility_timeout: 5m"
            )
        );
        assert_eq!(
            queue.origin(&YamlPath::keys(["dead_letter", "max_receive_count"])),
            origin(0, &["defaults", "dead_letter", "max_receive_count"])
        );
        assert_eq!(
            queue.origin(&YamlPath::keys(["dead_letter", "retention"])),
            origin(1, &["queues", "a", "dead_letter", "retention"])
        );
    }

    #[test]
    fn null_resets_key() {
        let mut queue = MergedQueue::new(origin(0, &["queues", "a"]));
        queue.apply_layer(
            &yaml("delay: 10s\nretention: 1d"),
            origin(0, &["queues", "a"]),
        );
        queue.apply_layer(&yaml("delay: null"), origin(1, &["queues", "a"]));
        assert_eq!(queue.value, yaml("retention: 1d"));
    }

    #[test]
    fn shorthands_merge_with_mappings() {
        let mut queue = MergedQueue::new(origin(0, &["queues", "a"]));
        queue.apply_layer(
            &yaml("encryption: sse-kms\ndead_letter: {max_receive_count: 3}"),
            origin(0, &["defaults"]),
        );
        queue.apply_layer(
            &yaml("encryption: {kms_key: alias/k}\ndead_letter: false"),
            origin(1, &["queues", "a"]),
        );
        assert_eq!(
            queue.value,
            yaml(
                "encryption: {type: sse-kms, kms_key: alias/k}\ndead_letter: {max_receive_count: 3, enabled: false}"
            )
        );
    }

    #[test]
    fn encryption_type_change_replaces_whole() {
        let mut queue = MergedQueue::new(origin(0, &["queues", "a"]));
        queue.apply_layer(
            &yaml("encryption: {type: sse-kms, kms_key: alias/k}"),
            origin(0, &["defaults"]),
        );
        queue.apply_layer(&yaml("encryption: sse-sqs"), origin(0, &["queues", "a"]));
        assert_eq!(queue.value, yaml("encryption: {type: sse-sqs}"));
    }

    #[test]
    fn grants_list_replaces_whole() {
        let mut queue = MergedQueue::new(origin(0, &["queues", "a"]));
        queue.apply_layer(
            &yaml("grants: [{Sid: base}, {Sid: other}]"),
            origin(0, &["queues", "a"]),
        );
        queue.apply_layer(
            &yaml("grants: [{Sid: override}]"),
            origin(1, &["queues", "a"]),
        );
        assert_eq!(queue.value, yaml("grants: [{Sid: override}]"));
    }
}
