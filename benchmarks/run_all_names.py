"""Names shared by the benchmark driver's modules: peers, set and row labels, paths."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS_VENV_PYTHON = "/work/peers-venv/bin/python"
ACC_PEERS = ("tesseract", "rapidocr", "rapidocr_v4", "easyocr")
DOCTR_PEERS = ("doctr_crnn_vgg16_bn", "doctr_crnn_mobilenet_v3_small")
SET_NAMES = {
    "iiit5k_test": "IIIT5K test",
    "svt_test": "SVT test",
    "svtp_test": "SVT-P test",
    "sroie_lines_val": "SROIE lines val",
}
LABELS = {
    "ours": "crnn_plugin (ours)",
    "tesseract": "Tesseract 5 (tesserocr, psm 8 words / psm 7 lines)",
    "rapidocr": "RapidOCR 3.10 PP-OCRv6 (rec only)",
    "rapidocr_v4": "RapidOCR 1.4.4 PP-OCRv4 (rec only)",
    "easyocr": "EasyOCR english_g2 (rec only)",
    "doctr_crnn_vgg16_bn": "docTR crnn_vgg16_bn (random weights)",
    "doctr_crnn_mobilenet_v3_small": "docTR crnn_mobilenet_v3_small (random weights)",
}
