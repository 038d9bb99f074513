"""Shared by the two JVM components: how the lab runs a Kafka main class with `java`."""

from __future__ import annotations

from pathlib import Path

from lab.config import Settings

# Small heaps and a fast-starting JIT: a lab moves kilobytes, and start-up time is what users feel.
JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError",
             "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8"]


def java_argv(java: str, settings: Settings, libdir: str, heap: str, main: str, *args: str) -> list[str]:
    log4j = settings.root / "stack" / "connect" / "log4j2.properties"
    return [java, f"-Xms{heap}", f"-Xmx{heap}", *JVM_FLAGS, f"-Dlog4j2.configurationFile={log4j}",
            "-cp", str(Path(settings.jvm_dir) / libdir / "*"), main, *args]
