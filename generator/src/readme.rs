//! The module README: prose from the module definitions, tables from its variable/output blocks.
