//! Tracing: a [`Field`] whose operations record an operation graph instead of computing.
//!
//! Running a formula on [`Traced`] values yields exactly the operations the formula performs,
//! in order, with common subexpressions merged and trivial identities (x + 0, x·1, x·0,
//! select between equal values) folded away. The graph is what the compiler schedules.

mod graph;

pub use graph::{Cond, Const, FlagTest, Graph, Node, Sink, ValueId};

use std::cell::RefCell;
use std::rc::Rc;

use crate::curve::{Point, SCALAR_BITS};
use crate::field::{Constant, Field, Flags, Fp2};

/// Records one program segment's operations.
#[derive(Clone, Default)]
pub struct Tracer {
    graph: Rc<RefCell<Graph>>,
}

/// A value in a traced program.
#[derive(Clone)]
pub struct Traced {
    id: ValueId,
    graph: Rc<RefCell<Graph>>,
}

/// What a traced select switches on.
pub type TracedBit = Cond;

impl Tracer {
    /// An empty segment.
    pub fn new() -> Self {
        Self::default()
    }

    fn value(&self, id: ValueId) -> Traced {
        Traced {
            id,
            graph: self.graph.clone(),
        }
    }

    /// The next word of the lane's input stream, as a field element.
    pub fn load(&self) -> Traced {
        let id = self.graph.borrow_mut().push_io(Node::Load);
        self.value(id)
    }

    /// The next word of the input stream into the lane's scalar register; returns its bits,
    /// most significant first.
    pub fn load_scalar(&self) -> Vec<TracedBit> {
        let scalar = self.graph.borrow_mut().push_io(Node::LoadScalar);
        (0..SCALAR_BITS)
            .rev()
            .map(|i| Cond::ScalarBit {
                bit: i as u8,
                scalar,
            })
            .collect()
    }

    /// A point over Fp from the stream: X, Y, Z.
    pub fn load_point(&self) -> Point<Traced> {
        Point::new(self.load(), self.load(), self.load())
    }

    /// An Fp2 element from the stream: c0 then c1.
    pub fn load_fp2(&self) -> Fp2<Traced> {
        Fp2::new(self.load(), self.load())
    }

    /// A point over Fp2 from the stream: X, Y, Z.
    pub fn load_point2(&self) -> Point<Fp2<Traced>> {
        Point::new(self.load_fp2(), self.load_fp2(), self.load_fp2())
    }

    /// `value` copied by an add/sub unit (`value + 0`, never folded): a loaded word that is
    /// read for a long time then occupies an add/sub bank instead of the stream port's small
    /// one.
    pub fn copy(&self, value: &Traced) -> Traced {
        let mut graph = self.graph.borrow_mut();
        let zero = graph.intern(Node::Const(Const::Zero));
        let id = graph.push_raw(Node::Add(value.id, zero));
        drop(graph);
        self.value(id)
    }

    /// The value held in persistent state slot `slot` when the segment starts.
    pub fn state(&self, slot: u8) -> Traced {
        let id = self.graph.borrow_mut().intern(Node::State(slot));
        self.value(id)
    }

    /// Appends `value` to the lane's output stream.
    pub fn store(&self, value: &Traced) {
        self.graph.borrow_mut().sinks.push(Sink::Store(value.id));
    }

    /// Leaves `value` in state slot `slot` when the segment ends.
    pub fn set_state(&self, slot: u8, value: &Traced) {
        self.graph
            .borrow_mut()
            .sinks
            .push(Sink::State(slot, value.id));
    }

    /// The recorded graph.
    pub fn finish(self) -> Graph {
        self.graph.borrow().clone()
    }
}

impl Traced {
    fn binary(&self, make: impl FnOnce(ValueId, ValueId) -> Node, other: &Traced) -> Traced {
        let id = self.graph.borrow_mut().intern(make(self.id, other.id));
        Traced {
            id,
            graph: self.graph.clone(),
        }
    }

    fn flag(&self, test: FlagTest) -> TracedBit {
        Cond::Flag(
            self.graph
                .borrow_mut()
                .intern(Node::Flag { test, of: self.id }),
        )
    }

    fn constant_node(&self, c: Const) -> Traced {
        let id = self.graph.borrow_mut().intern(Node::Const(c));
        Traced {
            id,
            graph: self.graph.clone(),
        }
    }

    /// Its node in the graph.
    pub fn id(&self) -> ValueId {
        self.id
    }
}

impl Field for Traced {
    type Bit = TracedBit;

    fn add(&self, other: &Self) -> Self {
        self.binary(Node::Add, other)
    }
    fn sub(&self, other: &Self) -> Self {
        self.binary(Node::Sub, other)
    }
    fn mul(&self, other: &Self) -> Self {
        self.binary(Node::Mul, other)
    }
    fn select(bit: &TracedBit, if_set: &Self, if_clear: &Self) -> Self {
        let node = Node::Select {
            cond: *bit,
            set: if_set.id,
            clear: if_clear.id,
        };
        let id = if_set.graph.borrow_mut().intern(node);
        Traced {
            id,
            graph: if_set.graph.clone(),
        }
    }
    fn zero(&self) -> Self {
        self.constant_node(Const::Zero)
    }
    fn one(&self) -> Self {
        self.constant_node(Const::One)
    }
    fn constant(&self, c: Constant) -> Self {
        // 0 and 1 keep their own operand codes, so that folding sees them.
        let value = c.value();
        if ark_ff::Zero::is_zero(&value) {
            self.zero()
        } else if ark_ff::One::is_one(&value) {
            self.one()
        } else {
            self.constant_node(Const::Table(c))
        }
    }
}

impl Flags for Traced {
    fn is_zero_flag(&self) -> TracedBit {
        self.flag(FlagTest::IsZero)
    }
    fn image_lsb_flag(&self) -> TracedBit {
        self.flag(FlagTest::ImageLsb)
    }
}
