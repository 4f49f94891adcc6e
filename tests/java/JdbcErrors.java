import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The error pgjdbc reports for each statement read from stdin, for
 * tests/test_error_messages.py to compare between PostgreSQL and this server.
 *
 * Each input line is base64 statements separated by spaces: the ones to run first
 * (their errors ignored), then the one whose error is reported. Each line runs in a
 * transaction that is rolled back. Each output line is base64 of the SQLSTATE,
 * message, detail, hint and position, separated by U+001F ("no error" if it ran).
 */
public class JdbcErrors {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Connection conn = DriverManager.getConnection(args[0])) {
            conn.setAutoCommit(false);
            String line;
            while ((line = in.readLine()) != null) {
                String[] parts = line.split(" ");
                String result;
                try (Statement before = conn.createStatement()) {
                    for (int i = 0; i < parts.length - 1; i++) {
                        try {
                            before.execute(decode(parts[i]));
                        } catch (SQLException ignored) {
                            // the case runs after it, as it would in a client
                        }
                    }
                    try (PreparedStatement stmt = conn.prepareStatement(decode(parts[parts.length - 1]))) {
                        stmt.execute();
                        result = "no error";
                    }
                } catch (SQLException e) {
                    result = describe(e);
                }
                conn.rollback();
                System.out.println(Base64.getEncoder().encodeToString(result.getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    private static String decode(String text) {
        return new String(Base64.getDecoder().decode(text), StandardCharsets.UTF_8);
    }

    private static String describe(SQLException e) {
        ServerErrorMessage m = e instanceof PSQLException ? ((PSQLException) e).getServerErrorMessage() : null;
        if (m == null) {
            return String.join("\u001f", String.valueOf(e.getSQLState()), String.valueOf(e.getMessage()), "", "", "0");
        }
        return String.join("\u001f", m.getSQLState(), m.getMessage(), orEmpty(m.getDetail()),
                orEmpty(m.getHint()), Integer.toString(m.getPosition()));
    }

    private static String orEmpty(String text) {
        return text == null ? "" : text;
    }
}
