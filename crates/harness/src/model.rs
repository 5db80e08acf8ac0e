//! Models are types, not strings: an experiment declares its models as an
//! enum with [`models!`](crate::models) (or as rows of a table, like the
//! server models), `--model` picks among them by name, and a `match` over the
//! enum has an arm for every model — an unknown name can never reach a
//! fallback arm that runs something else.

/// A model of an experiment: something with the name `--model` takes and
/// records carry.
pub trait Model: Copy {
    /// The model's name (`rayon`, `fork-exit`, `tokio-multi-thread`).
    fn name(self) -> &'static str;
}

/// What a model's records say about its standing, with a note for people:
/// async-std is `discontinued` (records carry `"status": "discontinued"`, as
/// every experiment of the coroutine binary does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelStatus {
    /// The record's `status` parameter.
    pub status: &'static str,
    /// Printed once per run on stderr.
    pub note: &'static str,
}

/// Declares an experiment's models as an enum: each variant with its name,
/// in the order they run; `ALL` lists them, `name()` gives the name, and the
/// enum is a [`Model`]. A variant may carry `#[cfg(...)]` (after its doc).
///
/// ```
/// harness::models! {
///     /// The models of `cpu`.
///     pub enum Cpu {
///         /// The baseline.
///         Sequential = "sequential",
///         /// Work stealing.
///         Rayon = "rayon",
///     }
/// }
/// assert_eq!(Cpu::ALL, [Cpu::Sequential, Cpu::Rayon]);
/// assert_eq!(Cpu::Rayon.name(), "rayon");
/// ```
#[macro_export]
macro_rules! models {
    (
        $(#[doc = $doc:literal])*
        $vis:vis enum $name:ident {
            $(
                $(#[doc = $vdoc:literal])*
                $(#[cfg($cfg:meta)])?
                $variant:ident = $text:literal
            ),+ $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $(
                $(#[doc = $vdoc])*
                $(#[cfg($cfg)])?
                $variant
            ),+
        }

        impl $name {
            /// Every model, in the order they run.
            pub const ALL: &'static [$name] = &[$($(#[cfg($cfg)])? $name::$variant),+];

            /// The model's name, as `--model` takes it and records carry it.
            pub const fn name(self) -> &'static str {
                match self {
                    $($(#[cfg($cfg)])? $name::$variant => $text),+
                }
            }
        }

        impl $crate::Model for $name {
            fn name(self) -> &'static str {
                $name::name(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::Model;

    crate::models! {
        /// Two models and one that is compiled out.
        enum Demo {
            /// The first.
            First = "first",
            #[cfg(any())]
            Gone = "gone",
            Second = "second",
        }
    }

    #[test]
    fn names_and_order() {
        assert_eq!(Demo::ALL, [Demo::First, Demo::Second]);
        assert_eq!(Model::name(Demo::Second), "second");
        assert_eq!(Demo::First.to_string(), "first");
    }
}
