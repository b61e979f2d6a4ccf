//! What can go wrong with a plugin, always naming the plugin and its version.

/// How a plugin's run was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapKind {
    /// It used up its instruction budget.
    FuelExhausted,
    /// It ran past its wall-clock deadline.
    Timeout,
    /// It recursed past the stack limit.
    StackOverflow,
    /// It asked for more memory than allowed.
    MemoryLimit,
    /// Any other trap (a panic is `unreachable`), with wasmtime's description.
    Other(String),
}

/// A plugin could not be loaded or could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginError {
    /// A request given to `plugin run` is not one the host could have built.
    #[error("invalid request: {message}")]
    InvalidInput {
        /// What is wrong, naming the field.
        message: String,
    },
    /// The file is larger than the module size limit.
    #[error("plugin is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid component of the routing world.
    #[error("not a valid switchyard routing plugin: {0}")]
    Invalid(String),
    /// The host could not compile the plugin (its compile worker cannot start or answer): a
    /// fault of the host, not of the plugin.
    #[error("the plugin could not be compiled: {0}")]
    Host(String),
    /// The order is too large to show the plugin.
    #[error("plugin `{plugin}`: the order's request is {size} bytes, more than the limit of {limit}")]
    InputTooLarge {
        /// `name@version`.
        plugin: String,
        /// Estimated size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Every instance of the pooling allocator is in use by other evaluations: the order was
    /// not shown to the plugin (it does not wait for a free instance).
    #[error("plugin `{plugin}` was not run: all {limit} pooled plugin instances are busy")]
    Busy {
        /// `name@version`.
        plugin: String,
        /// The pool's size (`Limits::pool_instances`).
        limit: u32,
    },
    /// The plugin was stopped.
    #[error("plugin `{plugin}` {}", describe(kind))]
    Trapped {
        /// `name@version`.
        plugin: String,
        /// Why.
        kind: TrapKind,
    },
    /// The plugin answered with an error of its own.
    #[error("plugin `{plugin}` refused the order: {message}")]
    Refused {
        /// `name@version`.
        plugin: String,
        /// Its message.
        message: String,
    },
    /// A parameter value the plugin does not take: an unknown name or the wrong type.
    #[error("plugin `{plugin}`: parameter {message}")]
    InvalidParameter {
        /// `name@version`.
        plugin: String,
        /// What is wrong, naming the parameter.
        message: String,
    },
    /// The plugin's answer does not fit the request.
    #[error("plugin `{plugin}` gave an invalid answer: {message}")]
    InvalidAnswer {
        /// `name@version`.
        plugin: String,
        /// What is wrong.
        message: String,
    },
}

fn describe(kind: &TrapKind) -> String {
    match kind {
        TrapKind::FuelExhausted => "ran out of fuel (its instruction budget)".to_owned(),
        TrapKind::Timeout => "ran past its time limit".to_owned(),
        TrapKind::StackOverflow => "overflowed its stack".to_owned(),
        TrapKind::MemoryLimit => "needed more memory than its limit".to_owned(),
        TrapKind::Other(message) => format!("trapped: {message}"),
    }
}
