pub mod load_data;
