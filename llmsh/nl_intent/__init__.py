"""Natural-language intent parser (MiniLM + LoRA, joint intent and slot tagging)."""
