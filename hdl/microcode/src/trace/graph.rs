//! The operation graph of one program segment.

use std::collections::HashMap;

use crate::field::Constant;

/// Index of a node in its [`Graph`]; nodes only refer to earlier nodes.
pub type ValueId = usize;

/// Constants every lane can read without holding them in its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    /// 0.
    Zero,
    /// 1.
    One,
    /// An entry of the engine's constant table.
    Table(Constant),
}

/// What a computed flag tests on a value's register image (the canonical Montgomery form,
/// which both datapath units always produce: every result is reduced into [0, p)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagTest {
    /// The image is 0, that is the value is 0.
    IsZero,
    /// Bit 0 of the image. Of a product by [`crate::field::Constant::MontgomeryInverse`] this
    /// is the parity of the factor's canonical integer (sgn0 of RFC 9380).
    ImageLsb,
}

/// The bit a select switches on: a bit of a loaded scalar, or a flag computed in the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cond {
    /// Bit `bit` of the scalar loaded by the node `scalar`.
    ScalarBit {
        /// Bit position, 0 = least significant.
        bit: u8,
        /// The scalar load.
        scalar: ValueId,
    },
    /// The flag computed by the node (a [`Node::Flag`]).
    Flag(ValueId),
}

impl Cond {
    /// The node the condition reads.
    pub fn source(self) -> ValueId {
        match self {
            Cond::ScalarBit { scalar, .. } => scalar,
            Cond::Flag(flag) => flag,
        }
    }
}

/// One operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// The next input word.
    Load,
    /// The next input word into the scalar register (no field value).
    LoadScalar,
    /// A persistent state slot's value at segment start.
    State(u8),
    /// A constant.
    Const(Const),
    /// Sum.
    Add(ValueId, ValueId),
    /// Difference.
    Sub(ValueId, ValueId),
    /// Product.
    Mul(ValueId, ValueId),
    /// A one-bit flag: `test` applied to a value (no field value; selects read it).
    Flag {
        /// The test.
        test: FlagTest,
        /// The value tested.
        of: ValueId,
    },
    /// `set` if `cond` is 1, else `clear`.
    Select {
        /// The bit it switches on.
        cond: Cond,
        /// Chosen when the bit is 1.
        set: ValueId,
        /// Chosen when the bit is 0.
        clear: ValueId,
    },
}

/// Where a segment's results go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Appended to the output stream (in sink order).
    Store(ValueId),
    /// Kept in a state slot for the next segment.
    State(u8, ValueId),
}

/// The nodes of a segment in creation order (a topological order) and its sinks.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// The operations.
    pub nodes: Vec<Node>,
    /// The results, in order.
    pub sinks: Vec<Sink>,
    dedup: HashMap<Node, ValueId>,
}

impl Graph {
    fn push(&mut self, node: Node) -> ValueId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Adds a stream operation (never merged: each consumes a word).
    pub fn push_io(&mut self, node: Node) -> ValueId {
        self.push(node)
    }

    /// Adds an operation with no folding or merging (the compiler's copies).
    pub fn push_raw(&mut self, node: Node) -> ValueId {
        self.push(node)
    }

    fn constant_of(&self, id: ValueId) -> Option<Const> {
        match self.nodes[id] {
            Node::Const(c) => Some(c),
            _ => None,
        }
    }

    /// Adds a pure operation, folding identities and reusing an identical earlier node.
    pub fn intern(&mut self, node: Node) -> ValueId {
        let zero = |g: &Self, id| g.constant_of(id) == Some(Const::Zero);
        let one = |g: &Self, id| g.constant_of(id) == Some(Const::One);
        let node = match node {
            Node::Add(a, b) if zero(self, b) => return a,
            Node::Add(a, b) if zero(self, a) => return b,
            Node::Sub(a, b) if zero(self, b) => return a,
            Node::Mul(a, _) if zero(self, a) => return a,
            Node::Mul(_, b) if zero(self, b) => return b,
            Node::Mul(a, b) if one(self, a) => return b,
            Node::Mul(a, b) if one(self, b) => return a,
            Node::Select { set, clear, .. } if set == clear => return set,
            // Commutative operations in a canonical operand order so that merging sees them.
            Node::Add(a, b) => Node::Add(a.min(b), a.max(b)),
            Node::Mul(a, b) => Node::Mul(a.min(b), a.max(b)),
            other => other,
        };
        if let Some(&id) = self.dedup.get(&node) {
            return id;
        }
        let id = self.push(node);
        self.dedup.insert(node, id);
        id
    }

    /// The values a node reads.
    pub fn operands(node: &Node) -> Vec<ValueId> {
        match *node {
            Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) => vec![a, b],
            Node::Select { cond, set, clear } => vec![cond.source(), set, clear],
            Node::Flag { of, .. } => vec![of],
            Node::Load | Node::LoadScalar | Node::State(_) | Node::Const(_) => vec![],
        }
    }
}
