//! Line and column of every node in a YAML file, looked up by YAML path.
//!
//! serde_yaml reports a position only for its own parse errors, so validation errors on values
//! that parsed fine would have none. This index comes from a second, event-level parse of the
//! same text and maps each path to where its key and its value start.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step in a YAML path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path into a YAML document, displayed as `queues.payment-events.visibility_timeout` or
/// `access_policy.Statement[0].Effect`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YamlPath(pub Vec<Segment>);

impl YamlPath {
    /// Creates a path from mapping keys.
    pub fn keys<I, S>(keys: I) -> YamlPath
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        YamlPath(
            keys.into_iter()
                .map(|key| Segment::Key(key.into()))
                .collect(),
        )
    }

    /// Returns this path extended by one mapping key.
    pub fn key(&self, key: impl Into<String>) -> YamlPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        YamlPath(segments)
    }

    /// Returns this path extended by a path relative to it.
    pub fn join(&self, relative: &YamlPath) -> YamlPath {
        let mut segments = self.0.clone();
        segments.extend(relative.0.iter().cloned());
        YamlPath(segments)
    }

    /// Returns the path without its last segment, or `None` for the root.
    pub fn parent(&self) -> Option<YamlPath> {
        let (_, rest) = self.0.split_last()?;
        Some(YamlPath(rest.to_vec()))
    }

    /// Returns the last segment's key, if it is a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last()? {
            Segment::Key(key) => Some(key),
            Segment::Index(_) => None,
        }
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return formatter.write_str("(document)");
        }
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => write!(formatter, "{key}")?,
                Segment::Key(key) => write!(formatter, ".{key}")?,
                Segment::Index(index) => write!(formatter, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.line, self.column)
    }
}

/// The positions of the keys and values of one YAML file.
#[derive(Debug, Default)]
pub struct PositionIndex {
    keys: HashMap<YamlPath, Position>,
    values: HashMap<YamlPath, Position>,
}

impl PositionIndex {
    /// Indexes `text`; a text that does not parse gives an empty index, because serde_yaml
    /// reports the syntax error with its own position.
    pub fn build(text: &str) -> PositionIndex {
        let mut builder = IndexBuilder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut builder, false).is_err() {
            return PositionIndex::default();
        }
        builder.index
    }

    /// Returns where the value at `path` starts.
    pub fn value(&self, path: &YamlPath) -> Option<Position> {
        self.values.get(path).copied()
    }

    /// Returns where the key of the entry at `path` starts, falling back to its value.
    pub fn key(&self, path: &YamlPath) -> Option<Position> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }
}

/// A container open during the event walk.
enum Frame {
    Mapping { pending_key: Option<String> },
    Sequence { next_index: usize },
}

#[derive(Default)]
struct IndexBuilder {
    index: PositionIndex,
    frames: Vec<Frame>,
    path: Vec<Segment>,
}

impl IndexBuilder {
    /// Records a node that starts at `marker` and returns whether it is a mapping key.
    fn enter_node(&mut self, marker: Marker, scalar: Option<&str>) -> bool {
        let position = Position {
            line: marker.line(),
            column: marker.col() + 1,
        };
        match self.frames.last_mut() {
            Some(Frame::Mapping { pending_key }) if pending_key.is_none() => {
                let key = scalar.unwrap_or("?").to_string();
                let mut path = self.path.clone();
                path.push(Segment::Key(key.clone()));
                self.index.keys.insert(YamlPath(path), position);
                *pending_key = Some(key);
                // yaml-rust2 0.13 marks a block mapping's start at its first key's ":", so the
                // mapping's own position moves back to where that first key starts.
                if let Some(start) = self.index.values.get_mut(&YamlPath(self.path.clone()))
                    && (position.line, position.column) < (start.line, start.column)
                {
                    *start = position;
                }
                true
            }
            Some(Frame::Mapping { pending_key }) => {
                let key = pending_key.clone().unwrap_or_default();
                self.path.push(Segment::Key(key));
                self.index
                    .values
                    .insert(YamlPath(self.path.clone()), position);
                false
            }
            Some(Frame::Sequence { next_index }) => {
                self.path.push(Segment::Index(*next_index));
                *next_index += 1;
                self.index
                    .values
                    .insert(YamlPath(self.path.clone()), position);
                false
            }
            None => {
                self.index.values.insert(YamlPath::default(), position);
                false
            }
        }
    }

    /// Closes the value that just ended: pops its path segment and readies the parent mapping
    /// for its next key.
    fn leave_value(&mut self) {
        if let Some(Frame::Mapping { pending_key }) = self.frames.last_mut() {
            *pending_key = None;
            self.path.pop();
        } else if let Some(Frame::Sequence { .. }) = self.frames.last() {
            self.path.pop();
        }
    }
}

impl MarkedEventReceiver for IndexBuilder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                let is_key = self.enter_node(marker, Some(&text));
                if !is_key {
                    self.leave_value();
                }
            }
            Event::Alias(_) => {
                let is_key = self.enter_node(marker, None);
                if !is_key {
                    self.leave_value();
                }
            }
            Event::MappingStart(..) => {
                self.enter_node(marker, None);
                self.frames.push(Frame::Mapping { pending_key: None });
            }
            Event::SequenceStart(..) => {
                self.enter_node(marker, None);
                self.frames.push(Frame::Sequence { next_index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
                self.leave_value();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
project: driversklub
queues:
  trip-events:
    visibility_timeout: 30s
    tags:
      team: trips
  payment-events.fifo:
    fifo: true
list:
  - first
  - name: second
";

    #[test]
    fn finds_nested_value_positions() {
        let index = PositionIndex::build(TEXT);
        let path = YamlPath::keys(["queues", "trip-events", "visibility_timeout"]);
        assert_eq!(
            index.value(&path),
            Some(Position {
                line: 4,
                column: 25
            })
        );
        assert_eq!(index.key(&path), Some(Position { line: 4, column: 5 }));
    }

    #[test]
    fn finds_keys_after_nested_mappings() {
        let index = PositionIndex::build(TEXT);
        let path = YamlPath::keys(["queues", "payment-events.fifo", "fifo"]);
        assert_eq!(index.key(&path), Some(Position { line: 8, column: 5 }));
    }

    #[test]
    fn finds_sequence_items() {
        let index = PositionIndex::build(TEXT);
        let second = YamlPath(vec![
            Segment::Key("list".into()),
            Segment::Index(1),
            Segment::Key("name".into()),
        ]);
        assert_eq!(
            index.value(&second),
            Some(Position {
                line: 11,
                column: 11
            })
        );
    }

    #[test]
    fn displays_path_with_indices() {
        let path = YamlPath(vec![
            Segment::Key("access_policy".into()),
            Segment::Key("Statement".into()),
            Segment::Index(0),
            Segment::Key("Effect".into()),
        ]);
        assert_eq!(path.to_string(), "access_policy.Statement[0].Effect");
    }

    #[test]
    fn invalid_yaml_gives_empty_index() {
        let index = PositionIndex::build("a: [unclosed");
        assert_eq!(index.value(&YamlPath::keys(["a"])), None);
    }
}
