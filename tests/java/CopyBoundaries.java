import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.copy.CopyOut;

/**
 * pgjdbc's CopyManager reading COPY ... TO STDOUT. Usage: java CopyBoundaries JDBC_URL,
 * one COPY statement a line on stdin. For each statement it prints every message
 * CopyOut.readFromCopy() returned (one CopyData each) and the row count, then what
 * copyOut(sql, OutputStream) wrote and returned, so a test can compare two servers
 * message for message.
 */
public class CopyBoundaries {
    static String hex(byte[] data) {
        StringBuilder out = new StringBuilder(data.length * 2);
        for (byte b : data) {
            out.append(String.format("%02x", b));
        }
        return out.toString();
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Connection conn = DriverManager.getConnection(args[0])) {
            CopyManager copy = conn.unwrap(PGConnection.class).getCopyAPI();
            String sql;
            while ((sql = in.readLine()) != null) {
                if (sql.isEmpty()) {
                    continue;
                }
                System.out.println("STATEMENT " + sql);
                CopyOut reader = copy.copyOut(sql);
                byte[] message;
                while ((message = reader.readFromCopy()) != null) {
                    System.out.println("MESSAGE " + hex(message));
                }
                System.out.println("ROWS " + reader.getHandledRowCount());
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                long rows = copy.copyOut(sql, all);
                System.out.println("STREAM " + hex(all.toByteArray()) + " " + rows);
            }
        }
    }
}
