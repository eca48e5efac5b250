package io.pgha.examples.ctl;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Opens the configuration in {@code $EDITOR} (then {@code editor}, then {@code vi}), as patronictl does. */
final class ConfigEditor {
    private ConfigEditor() {}

    static Map<String, Object> edit(String text, String clusterName) {
        String editor = System.getenv("EDITOR");
        if (editor == null || editor.isBlank()) {
            editor = onPath("editor");
            if (editor == null) {
                editor = onPath("vi");
            }
        }
        if (editor == null) {
            throw new CtlException("EDITOR environment variable is not set and neither editor nor vi is available;"
                    + " use -s, -p, --apply or --replace");
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(clusterName.replace('/', '_') + "-config-", ".yaml");
            Files.writeString(tmp, text);
            int rc = new ProcessBuilder(editor, tmp.toString())
                    .inheritIO()
                    .start()
                    .waitFor();
            if (rc != 0) {
                throw new CtlException("editor exited with return code " + rc);
            }
            return ConfigEdit.readYamlMap(Files.readString(tmp), "the edited configuration");
        } catch (IOException e) {
            throw new CtlException("cannot run the editor " + editor + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CtlException("interrupted while waiting for the editor");
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    private static String onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator, -1)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
