"""The language server face of nntutor (pygls 2, stdio)."""
