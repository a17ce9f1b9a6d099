"""Model folders shipped with crnn_plugin (each mirrors a Hugging Face Hub repo)."""
