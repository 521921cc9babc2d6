//! Shared by the three functions: metric model, sketch, item codec, AWS client set-up.
